// Counts per day as columns, each day in its place by date. Date labels are
// thinned to every 1, 2, 7, 14, 28... days so that, at the narrowest width,
// each has room for its full text before the next.
import { axisHeadroom, valueAxis } from './axis.ts';
import { frameSvg, makeFrame, textBlock } from './frame.ts';
import type { Rendering, TimeSeriesChart } from './model.ts';
import { INK, seriesStyle } from './palette.ts';
import { dayNumber, escapeXml, formatDay, formatValue, niceTicks, round, textWidth, wrapText, yearOf } from './text.ts';

const LABEL_STEPS = [1, 2, 7, 14, 28, 56, 91, 182, 364];

/** The width from which an inline chart shows its closer set of dates; app.scss's container query uses the same. */
export const WIDE_INLINE = 600;

/** Columns over time (responses per day), as an SVG string. */
export function timeSeriesChart(chart: TimeSeriesChart, rendering: Rendering): string {
  const frame = makeFrame(rendering);
  const fs = frame.text;
  if (chart.points.length === 0) throw new Error(`"${chart.title}" has no days to chart`);
  const byDay = new Map<number, number>();
  for (const point of chart.points) {
    const day = dayNumber(point.date);
    if (byDay.has(day)) throw new Error(`"${chart.title}" has ${point.date} twice`);
    byDay.set(day, point.value);
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);
  const first = days[0] as number;
  const last = days.at(-1) as number;
  const count = last - first + 1;
  const values = [...byDay.values()];

  const parts: string[] = [];
  let y = 0;
  if (chart.valueLabel) {
    const block = textBlock(wrapText(chart.valueLabel, frame.wrapWidth, fs), y, fs, ' class="chart-label"');
    parts.push(block.svg);
    y += block.height + fs * 0.25;
  }
  const top = y + axisHeadroom(frame);
  const height = frame.mode === 'inline' ? 200 : round(frame.text * 16);
  const bottom = top + height;
  const ticks = niceTicks(Math.max(chart.max ?? 0, ...values), 5, values.every(Number.isInteger));
  const axis = valueAxis(frame, ticks, top, height, chart.unit);

  // Columns touch when there are too many days for a gap to show.
  const gap = count > 90 ? 0 : 0.2;
  const columns = days
    .filter((day) => (byDay.get(day) as number) > 0)
    .map((day) => {
      const value = byDay.get(day) as number;
      const i = day - first;
      const columnTop = axis.y(value);
      return `<rect class="chart-bar" x="${frame.x((i + gap / 2) / count)}" y="${columnTop}" width="${frame.x((1 - gap) / count)}" height="${round(bottom - columnTop)}" fill="${seriesStyle(0).colour}"/>`;
    });

  const tickLength = round(fs * 0.4);
  const dateAxis = (width: number) => {
    const labels = dateLabels(first, count, width, frame.axis, fs * 0.75);
    const firstLine = round(bottom + tickLength + frame.axis * 1.05);
    return labels
      .map(({ i, text, year }) => {
        const x = frame.x((i + 0.5) / count);
        const label = (line: string, at: number) =>
          `<text class="chart-axis" x="${x}" y="${at}" font-size="${frame.axis}">${escapeXml(line)}</text>`;
        return (
          `<line x1="${x}" x2="${x}" y1="${bottom}" y2="${round(bottom + tickLength)}" stroke="${INK}" stroke-width="1.5"/>` +
          label(text, firstLine) +
          (year === undefined ? '' : label(String(year), round(firstLine + frame.axis * 1.25)))
        );
      })
      .join('');
  };
  // Inline, a second set of dates, closer together, for a chart at least
  // WIDE_INLINE px across: app.scss swaps the sets by a container query, and
  // without the stylesheet the set that fits a phone shows.
  const narrow = dateAxis(frame.width);
  const wide = frame.mode === 'inline' ? dateAxis(WIDE_INLINE) : narrow;
  const dates =
    wide === narrow
      ? `<g class="chart-dates">${narrow}</g>`
      : `<g class="chart-dates chart-dates--narrow">${narrow}</g><g class="chart-dates chart-dates--wide" display="none">${wide}</g>`;

  parts.push(axis.lines, ...columns, axis.labels, dates);
  const total = values.reduce((a, b) => a + b, 0);
  const peak = days.reduce((best, day) => ((byDay.get(day) as number) > (byDay.get(best) as number) ? day : best));
  const description =
    `${chart.valueLabel ?? 'Values'} from ${formatDay(first, true)} to ${formatDay(last, true)}: ` +
    `${formatValue(total, chart.unit)} in all over ${count} days, the most ${formatValue(byDay.get(peak) as number, chart.unit)} on ${formatDay(peak, true)}.`;
  return frameSvg(frame, chart, {
    svg: parts.join(''),
    height: bottom + tickLength + frame.axis * 2.6,
    description,
  });
}

/**
 * Days to label across `width` px: each a day and month, the year on a line
 * below the first label and wherever it changes, so every label stays short.
 */
function dateLabels(first: number, count: number, width: number, size: number, space: number) {
  const labels: { i: number; text: string; year?: number }[] = [];
  const step = labelStep(width, count, (i) => textWidth(formatDay(first + i, false), size) + space);
  let year = Number.NaN;
  for (let i = 0; i < count; i += step) {
    const day = first + i;
    const text = formatDay(day, false);
    const newYear = yearOf(day) !== year;
    const widest = Math.max(textWidth(text, size), newYear ? textWidth(String(yearOf(day)), size) : 0);
    if (((i + 0.5) / count) * width + widest > width) break;
    labels.push(newYear ? { i, text, year: yearOf(day) } : { i, text });
    year = yearOf(day);
  }
  return labels;
}

/** The first step whose labels, `room(i)` px each, fit side by side across `width` px of `count` days. */
function labelStep(width: number, count: number, room: (i: number) => number): number {
  let widest = 0;
  for (let i = 0; i < Math.min(count, 366); i++) widest = Math.max(widest, room(i));
  const perDay = width / count;
  for (const step of LABEL_STEPS) if (step * perDay >= widest) return step;
  return Math.ceil(widest / perDay / 364) * 364;
}
