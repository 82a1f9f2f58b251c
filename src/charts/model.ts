// The plain data each kind of chart is drawn from. Labels are survey text and
// may hold anything (&, <, quotes): the renderers escape every one.

/** What every chart carries besides its data; the title, subtitle and source appear in the download. */
export interface ChartText {
  /** The table's title, e.g. "Most important issue". */
  title: string;
  /** The base, e.g. "Of 1,234 respondents to this question". */
  subtitle?: string;
  /** Printed at the foot of the download, e.g. "Source: Community Safety Survey 2019". */
  source?: string;
  /** Appended to values shown from `value` (not to `display` text), e.g. "%". */
  unit?: string;
  /** The value a full-length bar or the top of the axis stands for (e.g. 100 for percentages); by default the largest value. */
  max?: number;
}

export interface Bar {
  label: string;
  /** null: nothing to draw (a suppressed or missing value); `display` says why. */
  value: number | null;
  /** Shown beside the bar instead of the value, e.g. "40.0%" or "[c]". */
  display?: string;
  /** A short note after the label, e.g. "Top 3". */
  marker?: string;
}

/** One series: a bar per label. */
export interface BarChart extends ChartText {
  kind: 'bar';
  bars: Bar[];
}

export interface GroupedValue {
  value: number | null;
  display?: string;
  /** A confidence interval, drawn as a whisker across the bar's end. */
  low?: number;
  high?: number;
}

/** Two or more series side by side in each category, e.g. respondents against the population. */
export interface GroupedBarChart extends ChartText {
  kind: 'grouped-bar';
  /** Series names, in the order of each category's values. */
  series: string[];
  categories: { label: string; values: GroupedValue[] }[];
}

/** Counts per day (responses per day): a column for each day, placed by its date so missing days leave a gap. */
export interface TimeSeriesChart extends ChartText {
  kind: 'time-series';
  /** Dates as YYYY-MM-DD, in any order; a day with no entry is drawn as nothing. */
  points: { date: string; value: number }[];
  /** What the columns count, shown above the axis, e.g. "Responses per day". */
  valueLabel?: string;
}

/** A few series across a few waves (years): a line per series. */
export interface TrendChart extends ChartText {
  kind: 'trend';
  /** Wave names along the axis, e.g. ["2017", "2018", "2019"]. */
  waves: string[];
  /** One value per wave; null where the series has no value for that wave (the line breaks). */
  series: { name: string; values: (number | null)[] }[];
  valueLabel?: string;
}

export type Chart = BarChart | GroupedBarChart | TimeSeriesChart | TrendChart;

/**
 * How to render: `inline` for the HTML page (full width, text never scaled;
 * `id` must be unique on the page and prefixes the SVG's own ids), or
 * `standalone` for a download (fixed width in px, 1200 by default).
 */
export type Rendering = { mode: 'inline'; id: string } | { mode: 'standalone'; width?: number };
