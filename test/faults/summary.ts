import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultRecord } from './harness.ts';

// Vitest's global setup for the fault tests (after test/build.setup.ts has built
// the server they start): clears the records of the last run, and afterwards prints the "Faults injected" table of SECURITY.md from
// this run's records (and writes it to test-artifacts/faults/table.md).

const DIR = join(import.meta.dirname, '../../test-artifacts/faults');
const ORDER = ['crash', 'disk-full', 'disk-full-limit', 'locked', 'read-only', 'overload', 'backup'];

export function setup() {
  rmSync(DIR, { recursive: true, force: true });
}

export function teardown() {
  if (!existsSync(DIR)) return;
  const records = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      ...(JSON.parse(readFileSync(join(DIR, f), 'utf8')) as FaultRecord),
    }))
    .sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
  const cell = (text: string | number) => String(text).replace(/\|/g, '\\|');
  const lines = [
    '| Fault | How it was injected | Cycles survived | Acknowledged | Responses lost | What was seen |',
    '|---|---|---:|---:|---:|---|',
    ...records.map(
      (r) =>
        [r.fault, r.injected, r.cycles, r.acknowledged, r.lost, r.notes].map(cell).join(' | ').replace(/^/, '| ') +
        ' |',
    ),
  ];
  const table = `${lines.join('\n')}\n`;
  writeFileSync(join(DIR, 'table.md'), table);
  process.stdout.write(`\nFaults injected (test-artifacts/faults/table.md):\n\n${table}\n`);
}
