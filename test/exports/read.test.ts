import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { exportQuery } from '../../src/exports/read.ts';
import { cspSurvey, makeApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));

describe('the export query', () => {
  it('sorts the responses once on SQLite rather than walking the index on their start times', async () => {
    const t = await makeApp({ engine: 'sqlite' });
    try {
      const survey = cspSurvey();
      await importResponses(t.db, survey, fixture);
      const query = exportQuery(t.db, survey, { status: 'all' }).compile();
      const plan = await t.db.executeQuery<{ detail: string }>(
        CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
      );
      const steps = plan.rows.map((r) => r.detail).join('; ');
      expect(steps).toContain('USE TEMP B-TREE FOR ORDER BY');
      expect(steps).not.toContain('responses_survey_started');
      // Still oldest first.
      const { rows } = await t.db.executeQuery<{ started_at: string }>(query);
      const started = rows.map((r) => r.started_at);
      expect(started).toHaveLength(420);
      expect(started).toEqual([...started].sort());
    } finally {
      await t.close();
    }
  });
});
