// Text for the charts: escaping, number and date formats, and widths estimated
// from Arial's metrics so labels can be wrapped before any browser sees them.

/** The charts' fonts: every family named shares Arial's metrics, so the width estimates below hold for each. */
export const FONT_FAMILY = 'Arial, "Liberation Sans", Helvetica, sans-serif';

/** Escapes text for XML (SVG) content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

// Advance widths of Arial (and Helvetica, Liberation Sans) in thousandths of an
// em for the printable ASCII characters, space (32) to tilde (126).
const ASCII_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
  556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
  722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
  556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
  260, 334, 584,
];

const OTHER_WIDTHS: Record<string, number> = {
  '\u00a0': 278,
  '‘': 222,
  '’': 222,
  '“': 333,
  '”': 333,
  '–': 556,
  '—': 1000,
  '…': 1000,
  '£': 556,
  '€': 556,
  '·': 278,
  '×': 584,
};

function charWidth(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (code >= 32 && code <= 126) return ASCII_WIDTHS[code - 32] as number;
  const known = OTHER_WIDTHS[char];
  if (known !== undefined) return known;
  // Accented Latin letters are about as wide as a capital; anything else
  // (another script, a fallback font's glyph) is assumed a full em.
  return code < 0x2000 ? 722 : 1000;
}

/** The width in px of one line of text in the charts' font; bold is taken as a tenth wider. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let units = 0;
  for (const char of text) units += charWidth(char);
  return (units / 1000) * fontSize * (bold ? 1.1 : 1);
}

/**
 * Breaks text into lines no wider than maxWidth px, at spaces where it can and
 * inside a word only when the word alone is too wide (a long code or address).
 */
export function wrapText(text: string, maxWidth: number, fontSize: number, bold = false): string[] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  const fits = (candidate: string) => textWidth(candidate, fontSize, bold) <= maxWidth;
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = '';
    let rest = word;
    while (!fits(rest)) {
      let cut = 1;
      const chars = [...rest];
      while (cut < chars.length && fits(chars.slice(0, cut + 1).join(''))) cut++;
      lines.push(chars.slice(0, cut).join(''));
      rest = chars.slice(cut).join('');
    }
    line = rest;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

// One formatter for every chart: toLocaleString with options builds a new one per call, most of a chart's cost.
const VALUE_FORMAT = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 });

/** A count or value as shown on a chart: thousands separated, at most one decimal place, then the unit. */
export function formatValue(value: number, unit = ''): string {
  return `${VALUE_FORMAT.format(value)}${unit}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Days since 1970-01-01 of an ISO date (YYYY-MM-DD), read as a calendar date whatever the time zone. */
export function dayNumber(isoDate: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!match) throw new Error(`Not a date (YYYY-MM-DD): ${isoDate}`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / 86_400_000;
}

/** A day as an axis label: "18 Feb", or "18 Feb 2019" where the year must be said. */
export function formatDay(day: number, withYear: boolean): string {
  const date = new Date(day * 86_400_000);
  const text = `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}`;
  return withYear ? `${text} ${date.getUTCFullYear()}` : text;
}

/** The year of a day number. */
export function yearOf(day: number): number {
  return new Date(day * 86_400_000).getUTCFullYear();
}

/** Gridline values from 0 up to at least max: round steps (1, 2, 2.5, 5 times a power of ten), at most `most` lines. */
export function niceTicks(max: number, most = 5, integers = false): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / (most - 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  const steps = [1, 2, 2.5, 5, 10].map((m) => m * power).filter((s) => !integers || Number.isInteger(s));
  const step = steps.find((s) => Math.ceil(max / s) + 1 <= most) ?? Math.max(1, 10 * power);
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step * 1e-9; i++) ticks.push(round(i * step, 6));
  if ((ticks.at(-1) as number) < max) ticks.push(round(ticks.length * step, 6));
  return ticks;
}

/** Rounds for output: SVG numbers with no float noise. */
export function round(value: number, places = 2): number {
  const factor = 10 ** places;
  return Math.round(value * factor) / factor;
}
