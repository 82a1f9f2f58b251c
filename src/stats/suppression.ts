/** Counts from 1 to one below this are too small to publish. */
export const DEFAULT_THRESHOLD = 10;

/** What a published table shows in place of a suppressed count. */
export const SUPPRESSED = '[c]';

export type Suppression = 'primary' | 'secondary';

export interface SuppressionOptions {
  /** 'publish' hides what must be hidden; 'analyst' shows every count and marks the small ones. */
  mode: 'publish' | 'analyst';
  threshold?: number;
  /**
   * Suppress zeros too. Off by default: a 0 on its own says nothing about any one person, and hiding
   * zeros would spread complementary suppression across every sparse table. Turn it on where the
   * absence itself is sensitive (a 0 beside a row total can tell that everyone in a small group gave
   * the other answer).
   */
  suppressZeros?: boolean;
}

export interface SuppressedCell {
  /** The exact count; null in a published table where the cell is suppressed, so it cannot slip out. */
  value: number | null;
  /** The count, or "[c]". */
  shown: string;
  /** How the cell is hidden in this view; always null for analysts. */
  suppressed: Suppression | null;
  /** A count from 1 to threshold − 1 (or a 0 with suppressZeros): hidden when published. */
  small: boolean;
}

/** The publication's pattern: in analyst mode, what publishing the table would hide. */
export interface SuppressionSummary {
  mode: 'publish' | 'analyst';
  threshold: number;
  suppressZeros: boolean;
  /** Cells (totals included) hidden for being small. */
  primary: number;
  /** Cells (totals included) hidden so that a small one cannot be worked out from the totals. */
  secondary: number;
  /** Of the hidden cells, how many are totals. */
  totals: number;
  /** A footnote for the table, or null when there is nothing to say. */
  note: string | null;
}

export interface SuppressedTable {
  cells: SuppressedCell[][];
  rowTotals: SuppressedCell[];
  columnTotals: SuppressedCell[];
  grandTotal: SuppressedCell;
  summary: SuppressionSummary;
}

export interface SuppressedFrequencies {
  cells: SuppressedCell[];
  total: SuppressedCell;
  summary: SuppressionSummary;
}

/** Cells (by index into a flat list) that add up to a total: what subtraction can work on. */
interface Line {
  parts: number[];
  total: number;
}

/**
 * Statistical disclosure control for a cross-tab (rows × columns of counts) published with its row
 * totals, column totals and grand total, which are computed here. Primary: counts from 1 to
 * threshold − 1 are hidden, totals included. Secondary: while any row or column (the totals row and
 * column included) has exactly one hidden cell, which its total would give away, the smallest non-zero
 * shown cell of that line is hidden too (ties: the first; one that also protects its crossing line
 * first); then, while rows and columns taken together still pin a hidden cell down, one more is hidden.
 */
export function suppressTable(counts: number[][], options: SuppressionOptions): SuppressedTable {
  const settings = checkOptions(options);
  const height = counts.length;
  const width = counts[0]?.length ?? 0;
  for (const [i, row] of counts.entries()) {
    if (row.length !== width) throw new RangeError(`row ${i + 1} has ${row.length} cells, not ${width}`);
    for (const [j, value] of row.entries()) checkCount(value, `cell (${i + 1}, ${j + 1})`);
  }

  // A (height + 1) × (width + 1) grid, row-major, whose last row and column are the totals.
  const stride = width + 1;
  const at = (i: number, j: number) => i * stride + j;
  const values: number[] = [];
  for (let i = 0; i <= height; i++) {
    for (let j = 0; j <= width; j++) {
      values.push(
        i < height && j < width
          ? counts[i]![j]!
          : i < height
            ? sum(counts[i]!)
            : j < width
              ? sum(counts.map((row) => row[j]!))
              : sum(counts.map(sum)),
      );
    }
  }
  const lines: Line[] = [];
  for (let i = 0; i <= height; i++) {
    lines.push({ parts: range(width).map((j) => at(i, j)), total: at(i, width) });
  }
  for (let j = 0; j <= width; j++) {
    lines.push({ parts: range(height).map((i) => at(i, j)), total: at(height, j) });
  }
  const totals = new Set(lines.map((line) => line.total));

  const pattern = protect(values, lines, settings);
  const cells = present(values, pattern, settings);
  return {
    cells: range(height).map((i) => range(width).map((j) => cells[at(i, j)]!)),
    rowTotals: range(height).map((i) => cells[at(i, width)]!),
    columnTotals: range(width).map((j) => cells[at(height, j)]!),
    grandTotal: cells[at(height, width)]!,
    summary: summarise(cells, totals, pattern, settings),
  };
}

/**
 * The same for a frequency table (one count per answer) published with its total, the sum of the
 * counts: a lone hidden count would be the total less the others, so the next smallest is hidden too.
 */
export function suppressFrequencies(counts: number[], options: SuppressionOptions): SuppressedFrequencies {
  const settings = checkOptions(options);
  for (const [i, value] of counts.entries()) checkCount(value, `count ${i + 1}`);
  const values = [...counts, sum(counts)];
  const lines: Line[] = [{ parts: range(counts.length), total: counts.length }];
  const pattern = protect(values, lines, settings);
  const cells = present(values, pattern, settings);
  return {
    cells: cells.slice(0, counts.length),
    total: cells[counts.length]!,
    summary: summarise(cells, new Set([counts.length]), pattern, settings),
  };
}

interface Settings {
  mode: 'publish' | 'analyst';
  threshold: number;
  suppressZeros: boolean;
}

function checkOptions(options: SuppressionOptions): Settings {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new RangeError(`threshold is ${threshold}: it must be a whole number, 1 or more`);
  }
  if (options.mode !== 'publish' && options.mode !== 'analyst') {
    throw new RangeError(`mode is ${String(options.mode)}: it must be 'publish' or 'analyst'`);
  }
  return { mode: options.mode, threshold, suppressZeros: options.suppressZeros ?? false };
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} is ${value}: counts must be whole numbers, 0 or more`);
  }
}

function isSmall(value: number, { threshold, suppressZeros }: Settings): boolean {
  return value === 0 ? suppressZeros : value < threshold;
}

/**
 * The publication's pattern: primary cells first, then secondary ones until no hidden cell can be
 * worked out. A line (cells adding up to a total) with one hidden cell gives it away at once. Lines
 * can also be combined: with lines as nodes and hidden cells as edges between the two lines each lies
 * on, a hidden cell is pinned down by the table's sums exactly when no cycle of hidden cells runs
 * through it (every cycle here is a way to move counts around it that keeps every sum). So cells are
 * hidden until every hidden cell lies on a cycle, a lone hidden cell in a line being the simplest case.
 */
function protect(values: number[], lines: Line[], settings: Settings): (Suppression | null)[] {
  const pattern: (Suppression | null)[] = values.map((v) => (isSmall(v, settings) ? 'primary' : null));
  const linesOf: number[][] = values.map(() => []);
  for (const [l, line] of lines.entries()) for (const k of [...line.parts, line.total]) linesOf[k]!.push(l);
  const isTotal = values.map((_, k) => lines.some((line) => line.total === k));
  for (;;) {
    const hiddenIn = lines.map((line) => [...line.parts, line.total].filter((k) => pattern[k] !== null).length);
    const exposed = hiddenIn.indexOf(1);
    if (exposed >= 0) {
      pattern[complement(lines[exposed]!, values, pattern, linesOf, hiddenIn)] = 'secondary';
      continue;
    }
    const bridge = findBridge(pattern, linesOf, lines.length);
    if (!bridge) return pattern;
    pattern[across(bridge, values, pattern, linesOf, isTotal)] = 'secondary';
  }
}

/**
 * The cell to hide beside a line's lone hidden one: the smallest non-zero shown part (ties: the
 * first), preferring one whose crossing line has a lone hidden cell too, since it then protects both.
 * A line whose other parts are all 0 has its hidden part equal to its total, so then the total goes;
 * a shown 0 is hidden only when nothing else is left, which never happens unless zeros are
 * suppressed, but it keeps the promise that no line is left with one hidden cell.
 */
function complement(
  line: Line,
  values: number[],
  pattern: (Suppression | null)[],
  linesOf: number[][],
  hiddenIn: number[],
): number {
  const shown = line.parts.filter((k) => pattern[k] === null);
  const fixesTwo = (k: number) => linesOf[k]!.filter((l) => hiddenIn[l] === 1).length >= 2;
  let best: number | undefined;
  for (const k of shown) {
    if (values[k] === 0) continue;
    if (best === undefined || isBefore([fixesTwo(k) ? 0 : 1, values[k]!], [fixesTwo(best) ? 0 : 1, values[best]!])) {
      best = k;
    }
  }
  if (best !== undefined) return best;
  if (pattern[line.total] === null && values[line.total]! > 0) return line.total;
  return shown[0] ?? line.total;
}

/** A hidden cell on no cycle of hidden cells, with the lines on either side of it; null when there is none. */
function findBridge(
  pattern: (Suppression | null)[],
  linesOf: number[][],
  lineCount: number,
): { cell: number; sides: [Set<number>, Set<number>] } | null {
  const edges: number[][] = Array.from({ length: lineCount }, () => []);
  for (const [k, ends] of linesOf.entries()) {
    if (pattern[k] !== null && ends.length === 2) for (const l of ends) edges[l]!.push(k);
  }
  const reach = (from: number, without: number) => {
    const seen = new Set([from]);
    const queue = [from];
    for (let l = queue.pop(); l !== undefined; l = queue.pop()) {
      for (const k of edges[l]!) {
        if (k === without) continue;
        for (const next of linesOf[k]!) {
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
    }
    return seen;
  };
  for (const [k, ends] of linesOf.entries()) {
    if (pattern[k] === null || ends.length !== 2) continue;
    const side = reach(ends[0]!, k);
    if (!side.has(ends[1]!)) return { cell: k, sides: [side, reach(ends[1]!, k)] };
  }
  return null;
}

/**
 * The cell to hide so that a bridge joins a cycle: one shown cell between the lines on its two sides.
 * There always is one once no line has a lone hidden cell (each side then has a line with another
 * hidden cell, and the cell where those two lines cross is shown, or the bridge would not be one).
 * Preferred: non-zero before zero, an inner cell before a total, then the smallest, then the first.
 */
function across(
  bridge: { sides: [Set<number>, Set<number>] },
  values: number[],
  pattern: (Suppression | null)[],
  linesOf: number[][],
  isTotal: boolean[],
): number {
  const [a, b] = bridge.sides;
  const rank = (k: number) => [values[k] === 0 ? 1 : 0, isTotal[k] ? 1 : 0, values[k]!, k];
  let best: number | undefined;
  for (const [k, ends] of linesOf.entries()) {
    if (pattern[k] !== null || ends.length !== 2) continue;
    const [l, m] = ends as [number, number];
    if (!((a.has(l) && b.has(m)) || (b.has(l) && a.has(m)))) continue;
    if (best === undefined || isBefore(rank(k), rank(best))) best = k;
  }
  if (best === undefined) throw new Error('no cell joins the two sides of a hidden cell: the table is not a grid');
  return best;
}

function isBefore(x: number[], y: number[]): boolean {
  for (const [i, v] of x.entries()) if (v !== y[i]) return v < y[i]!;
  return false;
}

function present(values: number[], pattern: (Suppression | null)[], settings: Settings): SuppressedCell[] {
  return values.map((value, k) => {
    const small = isSmall(value, settings);
    if (settings.mode === 'analyst') return { value, shown: String(value), suppressed: null, small };
    const suppressed = pattern[k]!;
    return suppressed
      ? { value: null, shown: SUPPRESSED, suppressed, small }
      : { value, shown: String(value), suppressed: null, small };
  });
}

function summarise(
  cells: SuppressedCell[],
  totals: Set<number>,
  pattern: (Suppression | null)[],
  settings: Settings,
): SuppressionSummary {
  const primary = pattern.filter((s) => s === 'primary').length;
  const secondary = pattern.filter((s) => s === 'secondary').length;
  const hiddenTotals = [...totals].filter((k) => pattern[k] !== null).length;
  const small = `fewer than ${settings.threshold} respondents${settings.suppressZeros ? ' (or none)' : ''}`;
  let note: string | null = null;
  if (settings.mode === 'publish' && primary + secondary > 0) {
    note =
      secondary > 0
        ? `${SUPPRESSED}: hidden, because the count is ${small}, or so that such a count cannot be worked out from the totals.`
        : `${SUPPRESSED}: hidden, because the count is ${small}.`;
  } else if (settings.mode === 'analyst' && cells.some((c) => c.small)) {
    note = `Counts of ${small} are marked as small: they are hidden when the table is published${secondary > 0 ? `, with ${secondary} more so that they cannot be worked out from the totals` : ''}.`;
  }
  return { ...settings, primary, secondary, totals: hiddenTotals, note };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function range(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}
