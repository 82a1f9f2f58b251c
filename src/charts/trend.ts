// A few series across a few waves (years): a line per series, each with its
// own dash and marker shape as well as its colour, and a legend above.
import { axisHeadroom, valueAxis } from './axis.ts';
import { drawLegend } from './bars.ts';
import { frameSvg, makeFrame, textBlock } from './frame.ts';
import type { Rendering, TrendChart } from './model.ts';
import { markerShape, seriesStyle } from './palette.ts';
import { formatValue, niceTicks, round, wrapText } from './text.ts';

/** Lines of a few series across a few waves, as an SVG string. */
export function trendChart(chart: TrendChart, rendering: Rendering): string {
  const frame = makeFrame(rendering);
  const fs = frame.text;
  const waves = chart.waves.length;
  if (waves < 2) throw new Error(`"${chart.title}" needs at least two waves to show a trend`);
  for (const series of chart.series) {
    if (series.values.length !== waves)
      throw new Error(`"${series.name}" has ${series.values.length} values for ${waves} waves`);
  }
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const markerSize = round(fs * 0.75);

  const parts: string[] = [];
  let y = 0;
  const lineSwatch = (i: number, size: number) => {
    const { colour, dash } = seriesStyle(i);
    const middle = round(size / 2);
    return (
      `<line x1="0" x2="${round(size * 2.5)}" y1="${middle}" y2="${middle}" stroke="${colour}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ''}/>` +
      `<g transform="translate(${round(size * 1.25)} ${middle})">${markerShape(i, markerSize)}</g>`
    );
  };
  const legend = drawLegend(
    frame,
    chart.series.map((s) => s.name),
    y,
    lineSwatch,
    fs * 2.5,
  );
  parts.push(legend.svg);
  y += legend.height + frame.line * 0.5;
  if (chart.valueLabel) {
    const block = textBlock(wrapText(chart.valueLabel, frame.wrapWidth, fs), y, fs, ' class="chart-label"');
    parts.push(block.svg);
    y += block.height + fs * 0.25;
  }
  const top = y + axisHeadroom(frame);
  const height = frame.mode === 'inline' ? 220 : round(frame.text * 16);
  const bottom = top + height;
  const ticks = niceTicks(Math.max(chart.max ?? 0, ...values), 5, values.every(Number.isInteger));
  const axis = valueAxis(frame, ticks, top, height, chart.unit);
  const at = (wave: number) => (wave + 0.5) / waves;

  const lines: string[] = [];
  const markers: string[] = [];
  chart.series.forEach((series, s) => {
    const { colour, dash } = seriesStyle(s);
    const stroke = `stroke="${colour}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ''}`;
    series.values.forEach((value, w) => {
      if (value === null) return;
      const next = series.values[w + 1];
      if (next !== null && next !== undefined) {
        lines.push(
          `<line class="chart-line" x1="${frame.x(at(w))}" x2="${frame.x(at(w + 1))}" y1="${axis.y(value)}" y2="${axis.y(next)}" ${stroke}/>`,
        );
      }
      markers.push(frame.at(at(w), axis.y(value), markerShape(s, markerSize)));
    });
  });

  // Wave names centred under their points, wrapped to their share of the width.
  const slot = frame.width / waves - fs * 0.5;
  let labelHeight = 0;
  const waveLabels = chart.waves
    .map((wave, w) => {
      const block = textBlock(
        wrapText(wave, slot, frame.axis),
        bottom + fs * 0.4,
        frame.axis,
        ` class="chart-axis" text-anchor="middle" font-size="${frame.axis}"`,
        frame.x(at(w)),
      );
      labelHeight = Math.max(labelHeight, block.height);
      return block.svg;
    })
    .join('');

  parts.push(axis.lines, ...lines, ...markers, axis.labels, waveLabels);
  const description = chart.series
    .map(
      (s) =>
        `${s.name}: ${s.values.map((v, w) => `${chart.waves[w]} ${v === null ? 'no value' : formatValue(v, chart.unit)}`).join(', ')}`,
    )
    .join('; ');
  return frameSvg(frame, chart, { svg: parts.join(''), height: bottom + fs * 0.4 + labelHeight, description });
}
