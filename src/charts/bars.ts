// Horizontal bars, one series or several side by side. Each category's label
// sits on its own lines above its bars, so a long label never squeezes the bars
// on a phone; values are written just past the end of each bar.
import { type Body, type Frame, frameSvg, makeFrame, textBlock } from './frame.ts';
import type { BarChart, GroupedBarChart, GroupedValue, Rendering } from './model.ts';
import { INK, seriesDefs, seriesFill, seriesStyle } from './palette.ts';
import { escapeXml, formatValue, round, textWidth, wrapText } from './text.ts';

/** A bar chart of one series, as an SVG string. */
export function barChart(chart: BarChart, rendering: Rendering): string {
  const frame = makeFrame(rendering);
  const categories = chart.bars.map((bar) => ({
    label: bar.label,
    marker: bar.marker,
    values: [{ value: bar.value, display: bar.display }],
  }));
  const body = drawBars(frame, categories, [], chart.unit, chart.max);
  body.description = chart.bars
    .map((bar) => `${bar.label}${bar.marker ? ` (${bar.marker})` : ''}: ${shown(bar, chart.unit)}`)
    .join('; ');
  return frameSvg(frame, chart, body);
}

/** Two or more series side by side in each category, with a legend, as an SVG string. */
export function groupedBarChart(chart: GroupedBarChart, rendering: Rendering): string {
  if (chart.series.length < 1) throw new Error('A grouped bar chart needs at least one series');
  for (const category of chart.categories) {
    if (category.values.length !== chart.series.length)
      throw new Error(`"${category.label}" has ${category.values.length} values for ${chart.series.length} series`);
  }
  const frame = makeFrame(rendering);
  const body = drawBars(frame, chart.categories, chart.series, chart.unit, chart.max);
  body.description = chart.categories
    .map((c) => `${c.label}: ${c.values.map((v, i) => `${chart.series[i]} ${shown(v, chart.unit)}`).join(', ')}`)
    .join('; ');
  return frameSvg(frame, chart, body);
}

function shown(value: GroupedValue, unit: string | undefined): string {
  const text = value.display ?? (value.value === null ? 'no value' : formatValue(value.value, unit));
  return value.low !== undefined && value.high !== undefined
    ? `${text} (${formatValue(value.low, unit)} to ${formatValue(value.high, unit)})`
    : text;
}

interface Category {
  label: string;
  marker?: string | undefined;
  values: GroupedValue[];
}

function drawBars(
  frame: Frame,
  categories: Category[],
  series: string[],
  unit: string | undefined,
  max: number | undefined,
): Body {
  const fs = frame.text;
  const gap = round(fs * 0.4);
  const grouped = series.length > 1;
  const barHeight = round(grouped ? fs * 1.1 : fs * 1.25);
  const text = (v: GroupedValue) => v.display ?? (v.value === null ? '' : formatValue(v.value, unit));
  const end = (v: GroupedValue) => (v.value === null ? 0 : Math.max(v.value, v.high ?? 0, 0));
  const scaleMax = max ?? Math.max(0, ...categories.flatMap((c) => c.values.map(end)));
  const fraction = (value: number) => (scaleMax > 0 ? Math.max(0, value) / scaleMax : 0);
  // The share of the width a full-scale bar takes: as much as leaves room for
  // every bar's value text after it at the narrowest width.
  let reach = 1;
  for (const c of categories) {
    for (const v of c.values) {
      const f = fraction(end(v));
      if (f > 0) reach = Math.min(reach, (frame.width - gap - textWidth(text(v), fs) * 1.1) / (f * frame.width));
    }
  }
  reach = Math.max(0.2, Math.min(0.95, reach));
  const x = (value: number) => frame.x(fraction(value) * reach);

  const parts: string[] = [];
  let y = 0;
  if (grouped) {
    const legend = drawLegend(frame, series, y);
    parts.push(legend.svg);
    y += legend.height + frame.line * 0.5;
  }
  for (const category of categories) {
    const label = labelLines(frame, category.label, category.marker, y);
    parts.push(label.svg);
    y += label.height + fs * 0.25;
    category.values.forEach((v, s) => {
      const style = seriesStyle(s);
      const middle = y + barHeight / 2;
      if (v.value !== null && v.value > 0) {
        parts.push(
          `<rect class="chart-bar" x="0" y="${round(y)}" width="${x(v.value)}" height="${barHeight}" fill="${seriesFill(frame.prefix, s)}" stroke="${style.colour}" stroke-width="1.5"/>`,
        );
      }
      if (v.value !== null && v.low !== undefined && v.high !== undefined) {
        parts.push(whisker(x(v.low), x(v.high), middle, barHeight));
      }
      const shownText = text(v);
      if (shownText) {
        const dx = end(v) > 0 ? gap : 0;
        parts.push(
          `<text class="chart-value" x="${x(end(v))}" dx="${dx}" y="${round(middle + fs * 0.35)}">${escapeXml(shownText)}</text>`,
        );
      }
      y += barHeight + (s < category.values.length - 1 ? fs * 0.25 : 0);
    });
    y += fs;
  }
  return {
    svg: parts.join(''),
    height: y - fs * 0.5,
    description: '',
    defs: seriesDefs(frame.prefix, Math.max(1, series.length)),
  };
}

/** The label's lines, the marker (e.g. "Top 3") in bold after it, on the last line if it fits. */
function labelLines(frame: Frame, label: string, marker: string | undefined, top: number) {
  const fs = frame.text;
  const lines = wrapText(label, frame.wrapWidth, fs);
  const block = textBlock(lines, top, fs, ' class="chart-label"');
  if (!marker) return block;
  const markerText = `(${marker})`;
  const last = lines.at(-1) as string;
  if (textWidth(`${last} `, fs) + textWidth(markerText, fs, true) <= frame.wrapWidth) {
    const tspan = ` <tspan font-weight="bold">${escapeXml(markerText)}</tspan></text>`;
    const svg = block.svg.replace(/<\/text>$/, tspan);
    return { svg, height: block.height };
  }
  const extra = textBlock([markerText], top + block.height, fs, ' class="chart-label" font-weight="bold"');
  return { svg: block.svg + extra.svg, height: block.height + extra.height };
}

/** A confidence interval: a black line with end caps on a white underlay, visible on a dark bar and on white. */
function whisker(from: string, to: string, middle: number, barHeight: number): string {
  const top = round(middle - barHeight * 0.4);
  const bottom = round(middle + barHeight * 0.4);
  const m = round(middle);
  const lines = (stroke: string, width: number) =>
    `<g class="chart-whisker" stroke="${stroke}" stroke-width="${width}" stroke-linecap="square">` +
    `<line x1="${from}" x2="${to}" y1="${m}" y2="${m}"/>` +
    `<line x1="${from}" x2="${from}" y1="${top}" y2="${bottom}"/>` +
    `<line x1="${to}" x2="${to}" y1="${top}" y2="${bottom}"/></g>`;
  return lines('#fff', 4) + lines(INK, 2);
}

/** Series names, each after a swatch of its fill, one to a line so any number of them fits a phone. */
export function drawLegend(
  frame: Frame,
  series: string[],
  top: number,
  swatch: (index: number, size: number) => string = (i, size) =>
    `<rect width="${size}" height="${size}" fill="${seriesFill(frame.prefix, i)}" stroke="${seriesStyle(i).colour}" stroke-width="1.5"/>`,
  swatchWidth = frame.text,
): { svg: string; height: number } {
  const fs = frame.text;
  const indent = round(swatchWidth + fs * 0.5);
  const parts: string[] = [];
  let y = top;
  series.forEach((name, i) => {
    const lines = wrapText(name, frame.wrapWidth - indent, fs);
    parts.push(
      `<g transform="translate(0 ${round(y + (fs * 1.25 - fs) / 2)})">${swatch(i, fs)}</g>`,
      textBlock(lines, y, fs, ' class="chart-legend"', String(indent)).svg,
    );
    y += lines.length * fs * 1.25 + fs * 0.25;
  });
  return { svg: parts.join(''), height: y - top - fs * 0.25 };
}
