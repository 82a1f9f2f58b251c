import { describe, expect, it } from 'vitest';
import { NARROWEST_INLINE } from '../../../src/charts/frame.ts';
import {
  barChart,
  type Chart,
  chartFigure,
  chartSvg,
  FONT_FAMILY,
  groupedBarChart,
  type Rendering,
  SERIES_STYLES,
  timeSeriesChart,
  trendChart,
} from '../../../src/charts/index.ts';
import { textWidth } from '../../../src/charts/text.ts';
import { WIDE_INLINE } from '../../../src/charts/time-series.ts';
import { dayAfter, HOSTILE, SAMPLES } from './samples.ts';
import { descendants, inherited, parseXml, textOf, type XmlElement } from './xml.ts';

const INLINE: Rendering = { mode: 'inline', id: 'chart-1' };
const STANDALONE: Rendering = { mode: 'standalone' };

function elements(svg: string, name: string, className?: string): XmlElement[] {
  return descendants(parseXml(svg)).filter(
    (e) => e.name === name && (className === undefined || e.attributes.class === className),
  );
}

function texts(svg: string, className?: string): string[] {
  return elements(svg, 'text', className).map(textOf);
}

/** A bar's length: a percentage of the width inline, px in a download. */
function length(bar: XmlElement): number {
  return Number.parseFloat(bar.attributes.width as string);
}

describe('every chart, in both renderings', () => {
  for (const [name, chart] of Object.entries(SAMPLES)) {
    it(`${name}: inline is well-formed SVG, full width with no viewBox, hidden beside its table, text at least 14 px`, () => {
      const svg = chartSvg(chart, INLINE);
      const root = parseXml(svg);
      expect(root.name).toBe('svg');
      expect(root.attributes).toMatchObject({
        xmlns: 'http://www.w3.org/2000/svg',
        width: '100%',
        'aria-hidden': 'true',
        focusable: 'false',
        'font-family': FONT_FAMILY,
      });
      expect(root.attributes.viewBox).toBeUndefined();
      expect(Number(root.attributes.height)).toBeGreaterThan(0);
      expect(svg).not.toMatch(/\sstyle=/);
      const all = descendants(root).filter((e) => e.name === 'text');
      expect(all.length).toBeGreaterThan(0);
      for (const text of all) expect(Number(inherited(root, text, 'font-size'))).toBeGreaterThanOrEqual(14);
    });

    it(`${name}: standalone is well-formed SVG of a fixed size, named by its title and described by its data`, () => {
      const svg = chartSvg(chart, STANDALONE);
      const root = parseXml(svg);
      expect(root.attributes).toMatchObject({
        xmlns: 'http://www.w3.org/2000/svg',
        width: '1200',
        role: 'img',
        'aria-labelledby': 'chart-title chart-desc',
        'font-family': FONT_FAMILY,
      });
      const height = Number(root.attributes.height);
      expect(Number.isInteger(height) && height > 0).toBe(true);
      expect(root.attributes.viewBox).toBe(`0 0 1200 ${height}`);
      const [title] = elements(svg, 'title');
      expect(title && textOf(title)).toBe(chart.title);
      const [desc] = elements(svg, 'desc');
      expect(desc && textOf(desc).length).toBeGreaterThan(10);
      expect(texts(svg)).toContain(chart.title);
      for (const text of descendants(root).filter((e) => e.name === 'text'))
        expect(Number(inherited(root, text, 'font-size'))).toBeGreaterThanOrEqual(20);
    });
  }

  it('a download of another width scales its text with it', () => {
    const svg = barChart(SAMPLES.bar as never, { mode: 'standalone', width: 800 });
    const root = parseXml(svg);
    expect(root.attributes.width).toBe('800');
    expect(root.attributes['font-size']).toBe('16');
    expect(() => barChart(SAMPLES.bar as never, { mode: 'standalone', width: 300 })).toThrow(/600/);
  });

  it('an inline id that could break out of an attribute or url() is refused', () => {
    expect(() => chartSvg(SAMPLES.bar as Chart, { mode: 'inline', id: 'a" onload="x' })).toThrow(/id/);
    expect(() => chartSvg(SAMPLES.bar as Chart, { mode: 'inline', id: 'a b' })).toThrow(/id/);
  });
});

describe('hostile text from a survey definition', () => {
  const charts: Chart[] = [
    {
      kind: 'bar',
      title: HOSTILE,
      subtitle: HOSTILE,
      source: HOSTILE,
      unit: HOSTILE,
      bars: [
        { label: HOSTILE, value: 3, marker: HOSTILE },
        { label: 'Plain', value: null, display: HOSTILE },
      ],
    },
    {
      kind: 'grouped-bar',
      title: HOSTILE,
      series: [HOSTILE, 'B'],
      categories: [{ label: HOSTILE, values: [{ value: 1, display: HOSTILE }, { value: 2 }] }],
    },
    {
      kind: 'time-series',
      title: HOSTILE,
      valueLabel: HOSTILE,
      unit: HOSTILE,
      points: [{ date: '2019-01-01', value: 3 }],
    },
    {
      kind: 'trend',
      title: HOSTILE,
      valueLabel: HOSTILE,
      waves: [HOSTILE, 'b'],
      series: [{ name: HOSTILE, values: [1, 2] }],
    },
  ];
  for (const chart of charts) {
    for (const rendering of [INLINE, STANDALONE]) {
      it(`${chart.kind} (${rendering.mode}) escapes every label: it stays text, whole`, () => {
        const svg = chartSvg(chart, rendering);
        const all = descendants(parseXml(svg));
        expect(all.map((e) => e.name)).not.toContain('script');
        expect(all.map((e) => e.name)).not.toContain('b');
        const words = all
          .filter((e) => e.name === 'text' || e.name === 'desc' || e.name === 'title')
          .map(textOf)
          .join('');
        // Wrapping may split the label across lines, but all of it is there as text, in order.
        expect(words.replace(/\s+/g, '')).toContain(HOSTILE.replace(/\s+/g, ''));
      });
    }
  }

  it('the figure escapes its caption and links to the table', () => {
    const html = chartFigure(SAMPLES.bar as Chart, { id: 'fig-1', tableId: 'table-most-important' });
    expect(html).toMatch(/^<figure class="app-chart-figure" id="fig-1"><svg /);
    expect(html).toContain('href="#table-most-important"');
    const hostile = chartFigure({ ...(SAMPLES.bar as Chart), title: HOSTILE }, { id: 'f', tableId: 't' });
    expect(hostile).not.toContain('<script>');
    expect(parseXml(hostile).name).toBe('figure');
  });
});

describe('bar chart', () => {
  const chart = SAMPLES.bar as Extract<Chart, { kind: 'bar' }>;

  for (const rendering of [INLINE, STANDALONE]) {
    it(`draws bars in proportion to their values, none for a suppressed value (${rendering.mode})`, () => {
      const svg = barChart(chart, rendering);
      const bars = elements(svg, 'rect', 'chart-bar');
      const drawn = chart.bars.filter((b) => b.value !== null && b.value > 0);
      expect(bars).toHaveLength(drawn.length);
      const unit = length(bars[0] as XmlElement) / (drawn[0]?.value as number);
      bars.forEach((bar, i) => {
        expect(length(bar) / (drawn[i]?.value as number)).toBeCloseTo(unit, 2);
      });
      if (rendering.mode === 'inline') for (const bar of bars) expect(bar.attributes.width).toMatch(/%$/);
      // "[c]" is written where its bar would start, with no bar.
      const values = elements(svg, 'text', 'chart-value');
      const suppressed = values.find((v) => textOf(v) === '[c]');
      expect(suppressed?.attributes.x).toBe(rendering.mode === 'inline' ? '0%' : '0');
      expect(values.map(textOf)).toEqual(chart.bars.map((b) => b.display));
    });

    it(`writes every label whole, the marker after it (${rendering.mode})`, () => {
      const svg = barChart(chart, rendering);
      const labels = texts(svg, 'chart-label').join(' ');
      for (const bar of chart.bars) expect(labels).toContain(bar.label);
      expect(labels.match(/\(Top 3\)/g)).toHaveLength(3);
    });
  }

  it('inline, wraps long labels to fit the narrowest phone, each line on its own above the bar', () => {
    const svg = barChart(SAMPLES.counts as never, INLINE);
    const lines = texts(svg, 'chart-label');
    expect(lines.length).toBeGreaterThan(4);
    for (const line of lines) expect(textWidth(line, 16)).toBeLessThanOrEqual(NARROWEST_INLINE * 0.9);
    expect(lines.join('')).toContain('https://example.org/a-very-long-unbroken-label-that-cannot-wrap-at-any-space');
  });

  it('inline, leaves room after the longest bar for its value at the narrowest width', () => {
    const svg = barChart(SAMPLES.counts as never, INLINE);
    const [longest] = elements(svg, 'rect', 'chart-bar');
    const reach = (length(longest as XmlElement) / 100) * NARROWEST_INLINE;
    expect(reach + 16 * 0.4 + textWidth('1,523', 16)).toBeLessThanOrEqual(NARROWEST_INLINE);
  });

  it('a full-scale value (max) keeps bars comparable between charts', () => {
    const half = barChart({ kind: 'bar', title: 't', max: 100, bars: [{ label: 'a', value: 50 }] }, STANDALONE);
    const full = barChart({ kind: 'bar', title: 't', max: 100, bars: [{ label: 'a', value: 100 }] }, STANDALONE);
    const [a] = elements(half, 'rect', 'chart-bar');
    const [b] = elements(full, 'rect', 'chart-bar');
    expect(length(a as XmlElement) / length(b as XmlElement)).toBeCloseTo(0.5, 2);
  });
});

describe('grouped bar chart', () => {
  const chart = SAMPLES.grouped as Extract<Chart, { kind: 'grouped-bar' }>;

  it('has a legend naming each series, and a pattern for every series after the first, under the chart id', () => {
    const svg = groupedBarChart(chart, INLINE);
    expect(texts(svg, 'chart-legend')).toEqual(chart.series);
    const patterns = elements(svg, 'pattern');
    expect(patterns.map((p) => p.attributes.id)).toEqual(['chart-1-s1']);
    const fills = elements(svg, 'rect', 'chart-bar').map((r) => r.attributes.fill);
    expect(new Set(fills)).toEqual(new Set([SERIES_STYLES[0]?.colour, 'url(#chart-1-s1)']));
  });

  it('draws bars in proportion, a whisker for each interval, and the value past the whisker', () => {
    const svg = groupedBarChart(chart, STANDALONE);
    const bars = elements(svg, 'rect', 'chart-bar');
    const drawn = chart.categories.flatMap((c) => c.values).filter((v) => v.value !== null);
    expect(bars).toHaveLength(drawn.length);
    const unit = length(bars[0] as XmlElement) / (drawn[0]?.value as number);
    bars.forEach((bar, i) => {
      expect(length(bar) / (drawn[i]?.value as number)).toBeCloseTo(unit, 2);
    });
    // Each whisker is drawn twice (white under black).
    expect(elements(svg, 'g', 'chart-whisker')).toHaveLength(3 * 2);
    const values = elements(svg, 'text', 'chart-value');
    const first = values.find((v) => textOf(v) === '8.2%');
    expect(Number(first?.attributes.x)).toBeCloseTo(unit * 10.4, 1);
  });

  it('refuses a category whose values do not match the series', () => {
    expect(() =>
      groupedBarChart({ ...chart, categories: [{ label: 'x', values: [{ value: 1 }] }] }, STANDALONE),
    ).toThrow(/1 values for 2 series/);
  });
});

describe('time series', () => {
  const chart = SAMPLES.days as Extract<Chart, { kind: 'time-series' }>;

  it('draws a column per day with a count, in proportion', () => {
    const svg = timeSeriesChart(chart, INLINE);
    const columns = elements(svg, 'rect', 'chart-bar');
    expect(columns).toHaveLength(chart.points.filter((p) => p.value > 0).length);
    const heights = columns.map((c) => Number(c.attributes.height));
    const ratio = (heights[0] as number) / (chart.points[0]?.value as number);
    heights.forEach((h, i) => {
      expect(h / (chart.points[i]?.value as number)).toBeCloseTo(ratio, 1);
    });
  });

  /** The day labels of one set of dates, and their x in px were the chart `width` px wide. */
  function dates(svg: string, set: string, width: number) {
    const [group] = elements(svg, 'g').filter((g) => g.attributes.class?.split(' ').includes(set));
    const labels = descendants(group as XmlElement).filter(
      (t) => t.name === 'text' && /[A-Z][a-z]{2}$/.test(textOf(t)),
    );
    return labels.map((l) => ({ text: textOf(l), x: (Number.parseFloat(l.attributes.x as string) / 100) * width }));
  }

  for (const [set, width] of [
    ['chart-dates--narrow', NARROWEST_INLINE],
    ['chart-dates--wide', WIDE_INLINE],
  ] as const) {
    it(`thins the dates so each has room before the next at ${width} px, the year under the first`, () => {
      const svg = timeSeriesChart(chart, INLINE);
      const labels = dates(svg, set, width);
      expect(labels.length).toBeGreaterThanOrEqual(3);
      expect(labels.length).toBeLessThan(width / 40);
      expect(labels[0]?.text).toBe('18 Feb');
      labels.forEach((label, i) => {
        const right = label.x + textWidth(label.text, 14);
        expect(right).toBeLessThanOrEqual(labels[i + 1]?.x ?? width);
      });
    });
  }

  it('inline, hides the closer set of dates unless the stylesheet shows it; a download has one set', () => {
    const svg = timeSeriesChart(chart, INLINE);
    expect(dates(svg, 'chart-dates--wide', WIDE_INLINE).length).toBeGreaterThan(
      dates(svg, 'chart-dates--narrow', NARROWEST_INLINE).length,
    );
    const [wide] = elements(svg, 'g').filter((g) => g.attributes.class?.includes('chart-dates--wide'));
    expect(wide?.attributes.display).toBe('none');
    expect(texts(svg, 'chart-axis')).toContain('2019');
    const download = timeSeriesChart(chart, STANDALONE);
    expect(elements(download, 'g').filter((g) => g.attributes.class?.startsWith('chart-dates'))).toHaveLength(1);
  });

  it('places days by date, so a missing day leaves a gap', () => {
    const svg = timeSeriesChart(
      {
        kind: 'time-series',
        title: 't',
        points: [
          { date: '2019-01-03', value: 1 },
          { date: '2019-01-01', value: 1 },
        ],
      },
      STANDALONE,
    );
    const xs = elements(svg, 'rect', 'chart-bar').map((c) => Number(c.attributes.x));
    const width = Number(elements(svg, 'rect', 'chart-bar')[0]?.attributes.width);
    expect(xs[1] as number).toBeCloseTo((xs[0] as number) + (2 * width) / 0.8, 1);
  });

  it('a year of days is labelled sparsely, each year where it starts', () => {
    const svg = timeSeriesChart(SAMPLES.year as never, INLINE);
    const axis = texts(svg, 'chart-axis');
    expect(axis).toContain('2019');
    expect(axis).toContain('2020');
  });

  it('refuses a day given twice and a malformed date', () => {
    const twice = [
      { date: '2019-01-01', value: 1 },
      { date: '2019-01-01', value: 2 },
    ];
    expect(() => timeSeriesChart({ kind: 'time-series', title: 't', points: twice }, INLINE)).toThrow(/twice/);
    expect(() =>
      timeSeriesChart({ kind: 'time-series', title: 't', points: [{ date: '1/1/2019', value: 1 }] }, INLINE),
    ).toThrow(/YYYY-MM-DD/);
    expect(dayAfter('2019-12-31', 1)).toBe('2020-01-01');
  });
});

describe('trend across waves', () => {
  const chart = SAMPLES.trend as Extract<Chart, { kind: 'trend' }>;

  it('draws a line between consecutive values, broken where a wave has none, and a marker at each value', () => {
    const svg = trendChart(chart, INLINE);
    // Dartford 3 segments, Gravesham 1 (2019 to 2020), Kent 3.
    expect(elements(svg, 'line', 'chart-line')).toHaveLength(7);
    const markers = elements(svg, 'svg').filter((e) => e.attributes.overflow === 'visible');
    expect(markers).toHaveLength(4 + 3 + 4);
    expect(texts(svg, 'chart-legend')).toEqual(chart.series.map((s) => s.name));
    expect(texts(svg, 'chart-axis')).toEqual(expect.arrayContaining(['2017', '2020', '0%', '100%']));
  });

  it('gives each series its own dash as well as its colour', () => {
    const svg = trendChart(chart, STANDALONE);
    const dashes = new Set(elements(svg, 'line', 'chart-line').map((l) => l.attributes['stroke-dasharray']));
    expect(dashes.size).toBe(3);
  });

  it('refuses a series with the wrong number of values', () => {
    expect(() => trendChart({ ...chart, series: [{ name: 'x', values: [1] }] }, INLINE)).toThrow(/1 values for 4/);
  });
});

describe('series styles', () => {
  const luminance = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a: string, b: string) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
    return (hi + 0.05) / (lo + 0.05);
  };

  it('every colour has 3:1 contrast with white, and the first two with each other', () => {
    for (const style of SERIES_STYLES) expect(contrast(style.colour, '#ffffff')).toBeGreaterThanOrEqual(3);
    expect(contrast(SERIES_STYLES[0]?.colour as string, SERIES_STYLES[1]?.colour as string)).toBeGreaterThanOrEqual(3);
  });

  it('every series differs from every other without colour: pattern, dash and marker', () => {
    for (const key of ['pattern', 'dash', 'marker'] as const) {
      expect(new Set(SERIES_STYLES.map((s) => s[key])).size).toBe(SERIES_STYLES.length);
    }
  });
});
