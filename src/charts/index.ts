// Charts as server-rendered SVG: pure functions from plain data to a string,
// no Fastify and no database (README: Charts). svgToPng is imported from
// ./png.ts alone, so rendering a page never loads resvg's native binary.
import { barChart, groupedBarChart } from './bars.ts';
import type { Chart, Rendering } from './model.ts';
import { escapeXml } from './text.ts';
import { timeSeriesChart } from './time-series.ts';
import { trendChart } from './trend.ts';

export { barChart, groupedBarChart } from './bars.ts';
export { NARROWEST_INLINE, STANDALONE_WIDTH } from './frame.ts';
export type * from './model.ts';
export { SERIES_STYLES } from './palette.ts';
export { escapeXml, FONT_FAMILY } from './text.ts';
export { timeSeriesChart } from './time-series.ts';
export { trendChart } from './trend.ts';

/** Any chart, by its `kind`, as an SVG string. */
export function chartSvg(chart: Chart, rendering: Rendering): string {
  switch (chart.kind) {
    case 'bar':
      return barChart(chart, rendering);
    case 'grouped-bar':
      return groupedBarChart(chart, rendering);
    case 'time-series':
      return timeSeriesChart(chart, rendering);
    case 'trend':
      return trendChart(chart, rendering);
  }
}

/**
 * The inline chart in a <figure> whose caption links to the table that holds
 * its figures (the chart itself is hidden from assistive technology, see
 * frame.ts). `id` is the figure's id and prefixes the SVG's own ids.
 */
export function chartFigure(chart: Chart, options: { id: string; tableId: string }): string {
  const svg = chartSvg(chart, { mode: 'inline', id: options.id });
  return (
    `<figure class="app-chart-figure" id="${escapeXml(options.id)}">${svg}` +
    `<figcaption class="govuk-body-s app-chart-figure__caption">Chart of the figures in the table ` +
    `<a class="govuk-link" href="#${escapeXml(options.tableId)}">${escapeXml(chart.title)}</a></figcaption></figure>`
  );
}
