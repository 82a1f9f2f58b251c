// The value axis shared by the charts over time: gridlines across the whole
// width, each labelled at its left end just above the line. Labels inside the
// plot need no px margin beside it, which percentage widths could not subtract.
import type { Frame } from './frame.ts';
import { GRID, INK } from './palette.ts';
import { escapeXml, formatValue, round } from './text.ts';

/** A white outline behind text drawn over the plot, so a column or line under it never hides it. */
export const HALO = ' stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"';

export interface ValueAxis {
  /** Gridlines and the zero line: drawn before the data. */
  lines: string;
  /** Tick labels: drawn after the data, over it. */
  labels: string;
  /** The y in px of a value. */
  y(value: number): number;
}

/** Room above the top gridline for its label. */
export function axisHeadroom(frame: Frame): number {
  return round(frame.axis * 1.4);
}

export function valueAxis(frame: Frame, ticks: number[], top: number, height: number, unit = ''): ValueAxis {
  const max = ticks.at(-1) as number;
  const y = (value: number) => round(top + height * (1 - value / max));
  const lines = ticks
    .map((t) => {
      const colour = t === 0 ? INK : GRID;
      return `<line x1="0" x2="${frame.x(1)}" y1="${y(t)}" y2="${y(t)}" stroke="${colour}" stroke-width="${t === 0 ? 1.5 : 1}"/>`;
    })
    .join('');
  const labels = ticks
    .map(
      (t) =>
        `<text class="chart-axis" x="0" y="${round(y(t) - frame.axis * 0.3)}" font-size="${frame.axis}"${HALO}>${escapeXml(formatValue(t, unit))}</text>`,
    )
    .join('');
  return { lines, labels, y };
}
