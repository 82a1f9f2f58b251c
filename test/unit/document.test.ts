import { describe, expect, it } from 'vitest';
import { DefinitionError, defineSurvey } from '../../src/survey/definition.ts';
import { csp2019 } from '../../src/survey/definitions/csp-2019.ts';
import {
  copyAsWave,
  documentOf,
  documentText,
  parseDocument,
  sameDocument,
  structuralChanges,
} from '../../src/survey/document.ts';

const shipped = defineSurvey(csp2019);
/** The shipped document, changed by `edit` (a deep copy: the shipped one is never touched). */
const page = (doc: any, id: string) => doc.pages.find((p: { id: string }) => p.id === id);
const edited = (edit: (doc: any) => void) => {
  const doc = structuredClone(documentOf(shipped));
  edit(doc);
  return defineSurvey(doc);
};

describe('a survey as a document', () => {
  it('reads back as the same definition from its text', () => {
    const again = parseDocument(documentText(shipped));
    expect(sameDocument(again, shipped)).toBe(true);
    expect(again.questionIds).toEqual(shipped.questionIds);
  });

  it('lists every problem of a bad document at once', () => {
    const bad = JSON.stringify({ ...documentOf(shipped), start: 'nowhere', channels: [{ code: 'Bad Code' }] });
    const err = (() => {
      try {
        parseDocument(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DefinitionError);
    expect((err as DefinitionError).problems.length).toBeGreaterThanOrEqual(2);
  });

  it('says a file that is not JSON is not JSON', () => {
    expect(() => parseDocument('{"slug": ')).toThrow(/not JSON/);
  });
});

describe('structural changes', () => {
  it('finds none when only the wording changes', () => {
    const reworded = edited((doc) => {
      doc.title = 'Community Safety Priorities 2020';
      doc.thankYou = ['Thank you. Priorities will be decided by the end of March 2020.'];
      page(doc, 'area').questions[0].label = 'Where do you live?';
      page(doc, 'area').questions[0].options[0].label = 'Dartford borough';
      doc.channels[0].label = 'Facebook page';
      doc.opensAt = '2020-02-01T00:00:00Z';
    });
    expect(structuralChanges(shipped, reworded)).toEqual([]);
    expect(sameDocument(shipped, reworded)).toBe(false);
  });

  it('names a changed option code, a changed route and a changed analysis setting, each', () => {
    const changed = edited((doc) => {
      page(doc, 'area').questions[0].options[0].code = 'dartford_borough';
      page(doc, 'concern-1-violence-reported').next = [{ goto: 'concern-3' }];
      doc.analysis.headline = 'concern_2';
    });
    const changes = structuralChanges(shipped, changed);
    expect(changes.some((c) => /pages "area" › questions "area" › options: was dartford/.test(c))).toBe(true);
    expect(changes).toContain('pages "concern-1-violence-reported" › next 1 › goto: was "concern-2"; now "concern-3"');
    expect(changes).toContain('analysis › headline: was "concern_1"; now "concern_2"');
  });

  it('names a question added, and a question type changed', () => {
    const changed = edited((doc) => {
      page(doc, 'area').questions.push({ id: 'extra', type: 'yesno', label: 'Anything else?' });
      const disability = page(doc, 'about-you').questions.find((q: { id: string }) => q.id === 'disability');
      disability.type = 'multiple';
      disability.max = 1;
    });
    const changes = structuralChanges(shipped, changed);
    expect(changes).toContain('pages "area" › questions: was area; now area, extra');
    expect(changes.some((c) => c.startsWith('pages "about-you" › questions "disability" › type: was "single"'))).toBe(
      true,
    );
  });
});

describe('copying as next year’s wave', () => {
  it('keeps every question and option code, with a new slug, title and dates', () => {
    const wave = copyAsWave(shipped, {
      slug: 'csp-2020',
      title: 'Community Safety Priorities 2020',
      opensAt: '2020-02-17T00:00:00Z',
      closesAt: '2020-03-02T00:00:00Z',
    });
    expect(wave.slug).toBe('csp-2020');
    expect(wave.title).toBe('Community Safety Priorities 2020');
    expect(structuralChanges(shipped, wave)).toEqual([]);
    expect(documentOf(wave).pages).toEqual(documentOf(shipped).pages);
    // The same series, named after the year it opens unless named.
    expect(wave.series).toEqual({ ...shipped.series, wave: '2020' });
    const named = copyAsWave(shipped, {
      slug: 'csp-2020b',
      title: 'Community Safety Priorities 2020 (second)',
      opensAt: '2020-09-01T00:00:00Z',
      closesAt: '2020-10-01T00:00:00Z',
      wave: '2020 autumn',
    });
    expect(named.series?.wave).toBe('2020 autumn');
  });
});
