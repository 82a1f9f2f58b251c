import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Survey } from '../../survey/definition.ts';
import type { Removal } from '../../survey/journey.ts';

// What a change dropped rides from the page where it was made to the page
// that tells the respondent (the next page, or Check your answers after the
// pages the change made necessary) in a short signed query parameter: no
// session on the server and nothing more in the database, whose drafts keep
// no trace of a dropped answer. It names pages, questions and codes only, as
// the page addresses already do, and is signed with the draft's token, so it
// can neither be forged nor shown to anyone else.

/** The query parameter and hidden field that carry the removals. */
export const REMOVED_FIELD = 'removed';

/** More than any one change can drop in a survey of this size; anything longer is not ours. */
const MAX_LENGTH = 2000;
const KINDS = { 'not-reached': 'n', taken: 't', other: 'o' } as const;
type Packed = [kind: string, pages: string[], questions: string[], about: string[], because: string[]];

export function removalsCodec(secret: string) {
  const key = createHmac('sha256', secret).update('soundings removed answers').digest();
  const sign = (payload: string, draftToken: string) =>
    createHmac('sha256', key).update(`${draftToken}\n${payload}`).digest().subarray(0, 16);

  /** The parameter's value for these removals, bound to the draft; '' for none. */
  const seal = (removals: readonly Removal[], draftToken: string): string => {
    if (!removals.length) return '';
    const packed: Packed[] = removals.map((r) => [
      KINDS[r.kind],
      r.pages,
      r.questions,
      r.about ? [r.about.question, r.about.code] : [],
      r.because ? [r.because.question, ...(r.because.code ? [r.because.code] : [])] : [],
    ]);
    const payload = Buffer.from(JSON.stringify(packed)).toString('base64url');
    return `${payload}.${sign(payload, draftToken).toString('base64url')}`;
  };

  /** The removals in a parameter, or none when it is missing, forged, for another draft or names what the survey lacks. */
  const open = (value: unknown, draftToken: string | undefined, survey: Survey): Removal[] => {
    if (typeof value !== 'string' || !draftToken || value.length > MAX_LENGTH) return [];
    const [payload = '', mac = ''] = value.split('.');
    const given = Buffer.from(mac, 'base64url');
    const expected = sign(payload, draftToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return [];
    try {
      const packed = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Packed[];
      return packed.map(unpack(survey));
    } catch {
      return [];
    }
  };

  /** Removals carried so far, then this step's, each once. */
  const merge = (carried: readonly Removal[], added: readonly Removal[]): Removal[] => {
    const seen = new Set(carried.flatMap((r) => r.pages));
    return [...carried, ...added.filter((r) => !r.pages.some((p) => seen.has(p)))];
  };

  return { seal, open, merge };
}

const isStrings = (list: unknown): list is string[] =>
  Array.isArray(list) && list.every((item) => typeof item === 'string');

/** Checks one packed removal against the survey (it was signed by us, but the survey may have changed since). */
const unpack =
  (survey: Survey) =>
  (entry: Packed): Removal => {
    const [kind, pages, questions, about, because] = entry;
    const named = Object.entries(KINDS).find(([, letter]) => letter === kind)?.[0] as Removal['kind'] | undefined;
    if (!named || ![pages, questions, about, because].every(isStrings)) throw new Error('not a removal');
    if (!pages.every((p) => survey.pageById.has(p))) throw new Error('unknown page');
    if (![...questions, about[0], because[0]].every((q) => q === undefined || survey.questionsById.has(q)))
      throw new Error('unknown question');
    return {
      kind: named,
      pages,
      questions,
      ...(about.length === 2 ? { about: { question: about[0] as string, code: about[1] as string } } : {}),
      ...(because.length
        ? { because: { question: because[0] as string, ...(because[1] ? { code: because[1] } : {}) } }
        : {}),
    };
  };
