import { DefinitionError, defineSurvey, type Survey } from './definition.ts';

// A survey definition as a JSON document: what `survey export` writes, `survey
// import` and the admin upload read, and the database stores per version. The
// document is the definition's own shape (what defineSurvey validates): every
// field of it survives an export, an import and a copy, including any the
// schema gains later.

/** The survey's definition as a plain document: the Survey without its indexes and stored version. */
export function documentOf(survey: Survey): Record<string, unknown> {
  const { pageById, questionIds, questionsById, reachableFrom, version, ...document } = survey;
  return JSON.parse(JSON.stringify(document));
}

/** The document as the file an admin downloads: indented, one trailing newline. */
export function documentText(survey: Survey): string {
  return `${JSON.stringify(documentOf(survey), null, 2)}\n`;
}

/** Reads a document's text: not JSON, or not a valid definition, is a DefinitionError listing every problem. */
export function parseDocument(text: string): Survey {
  let input: unknown;
  try {
    input = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new DefinitionError('(unreadable)', [`the file is not JSON: ${(err as Error).message}`]);
  }
  return defineSurvey(input);
}

/** What makes next year's wave: a new slug, title and dates; everything else (codes, routing, wording) kept. */
export interface WaveChanges {
  slug: string;
  title: string;
  /** Required: the old wave's dates have passed, and a survey without dates is open at once. */
  opensAt: string;
  closesAt: string;
  /** The new wave's name in its series; the year it opens when not given. */
  wave?: string;
}

/**
 * A copy of the survey as a new survey: the whole document, with a new slug,
 * title and dates, and (when it is a wave of a series) a new wave name, so the
 * comparison can tell the two apart.
 */
export function copyAsWave(survey: Survey, changes: WaveChanges): Survey {
  const { opensAt, closesAt, ...document } = documentOf(survey);
  const wave = changes.wave ?? changes.opensAt.slice(0, 4);
  return defineSurvey({
    ...document,
    slug: changes.slug,
    title: changes.title,
    opensAt: changes.opensAt,
    closesAt: changes.closesAt,
    ...(document.series ? { series: { ...document.series, wave } } : {}),
  });
}

/**
 * The fields that are wording: what residents read, changed freely as a new
 * version. Everything else (ids, codes, question types, routing, pages, the
 * analysis and population settings) is structure, fixed once answers are stored.
 */
const WORDING = new Set([
  'title',
  'owner',
  'intro',
  'thankYou',
  'opensAt',
  'closesAt',
  'label',
  'heading',
  'hint',
  'key',
  'section',
  'summaryHeading',
  'paragraphs',
  'noun',
  'caveats',
  'rankLabels',
  'shareSummary',
  // A series' title and wave name only label the comparison.
  'wave',
]);

/** The field that names an element of a list (a page, a question, an option, a population category). */
const NAMES = ['id', 'code', 'category'] as const;

function namesOf(list: unknown[]): string[] | undefined {
  const names: string[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) return undefined;
    const name = NAMES.map((n) => (item as Record<string, unknown>)[n]).find((v) => typeof v === 'string');
    if (typeof name !== 'string') return undefined;
    names.push(name);
  }
  return names;
}

const shown = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

function compare(path: string, before: unknown, after: unknown, out: string[]): void {
  if (Array.isArray(before) && Array.isArray(after)) {
    const a = namesOf(before);
    const b = namesOf(after);
    if (a && b) {
      if (a.join('\u0000') !== b.join('\u0000')) {
        out.push(`${path}: was ${a.join(', ') || 'none'}; now ${b.join(', ') || 'none'}`);
        return;
      }
      for (const [i, item] of before.entries()) compare(`${path} "${a[i]}"`, item, after[i], out);
      return;
    }
    if (before.length !== after.length) {
      out.push(`${path}: was ${shown(before)}; now ${shown(after)}`);
      return;
    }
    for (const [i, item] of before.entries()) compare(`${path} ${i + 1}`, item, after[i], out);
    return;
  }
  if (typeof before === 'object' && before !== null && typeof after === 'object' && after !== null) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      if (WORDING.has(key)) continue;
      compare(
        path ? `${path} › ${key}` : key,
        (before as Record<string, unknown>)[key],
        (after as Record<string, unknown>)[key],
        out,
      );
    }
    return;
  }
  if (before !== after) out.push(`${path}: was ${shown(before)}; now ${shown(after)}`);
}

/**
 * Every structural difference between two definitions of one survey, in words
 * ("pages "priorities" › questions "concern" › options: was a, b; now a, c"):
 * empty when only the wording differs. Stored answers are read by these codes
 * and routes, so once a survey has responses a difference refuses the change.
 */
export function structuralChanges(before: Survey, after: Survey): string[] {
  const out: string[] = [];
  const { slug: _a, ...a } = documentOf(before);
  const { slug: _b, ...b } = documentOf(after);
  compare('', a, b, out);
  return out;
}

/** Whether the two definitions say the same, word for word. */
export function sameDocument(a: Survey, b: Survey): boolean {
  return JSON.stringify(documentOf(a)) === JSON.stringify(documentOf(b));
}
