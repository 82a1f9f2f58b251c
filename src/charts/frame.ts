// The two renderings every kind of chart shares. Each kind lays out its body
// once against a Frame; the frame turns fractions of the width into SVG lengths
// (percentages inline, px in a download) and wraps the body in the outer <svg>.
import type { ChartText, Rendering } from './model.ts';
import { INK, SECONDARY_INK } from './palette.ts';
import { escapeXml, FONT_FAMILY, round, wrapText } from './text.ts';

/**
 * The narrowest an inline chart is drawn: a 320 px phone less GOV.UK's 15 px
 * page margins, rounded down. Text is wrapped and bars are shortened so that
 * everything fits here; any wider and there is only more room, as text keeps
 * its size while bars stretch.
 */
export const NARROWEST_INLINE = 280;

/** The width of a download when none is asked for: wide enough to print sharply across an A4 page. */
export const STANDALONE_WIDTH = 1200;

export interface Frame {
  mode: 'inline' | 'standalone';
  /** Prefix of every id inside the SVG (patterns), unique on the page. */
  prefix: string;
  /** The width in px the layout must fit: the narrowest inline chart, or the download's width less its margins. */
  width: number;
  /** The width text is wrapped to: inline, a tenth less, for a browser whose fallback font is wider than Arial. */
  wrapWidth: number;
  /** Font sizes in px: labels and values; axis ticks. */
  text: number;
  axis: number;
  /** Line height of text at size `text`. */
  line: number;
  /** An x position or length, as a fraction of the width, in SVG units. */
  x(fraction: number): string;
  /** Content drawn in px about an origin at `fraction` of the width across and `y` px down. */
  at(fraction: number, y: number, content: string): string;
}

export function makeFrame(rendering: Rendering): Frame {
  if (rendering.mode === 'inline') {
    if (!/^[A-Za-z][\w-]*$/.test(rendering.id)) throw new Error(`Not a usable id for a chart: ${rendering.id}`);
    return {
      mode: 'inline',
      prefix: rendering.id,
      width: NARROWEST_INLINE,
      wrapWidth: NARROWEST_INLINE * 0.9,
      text: 16,
      axis: 14,
      line: 20,
      x: (f) => `${round(f * 100, 3)}%`,
      // A nested <svg> is the one way to put px offsets about a percentage position.
      at: (f, y, content) =>
        `<svg x="${round(f * 100, 3)}%" y="${round(y)}" width="1" height="1" overflow="visible">${content}</svg>`,
    };
  }
  const total = rendering.width ?? STANDALONE_WIDTH;
  if (!(total >= 600)) throw new RangeError(`A chart download is at least 600 px wide, not ${total}`);
  const scale = total / STANDALONE_WIDTH;
  const width = total - 2 * margin(scale);
  return {
    mode: 'standalone',
    prefix: 'chart',
    width,
    wrapWidth: width * 0.98,
    text: round(24 * scale),
    axis: round(22 * scale),
    line: round(30 * scale),
    x: (f) => String(round(f * width)),
    at: (f, y, content) => `<g transform="translate(${round(f * width)} ${round(y)})">${content}</g>`,
  };
}

function margin(scale: number): number {
  return round(48 * scale);
}

/** Lines of text, one <text> each, the first line's box starting at `top`; returns the SVG and the height used. */
export function textBlock(
  lines: string[],
  top: number,
  fontSize: number,
  attributes = '',
  x = '0',
): { svg: string; height: number } {
  const lineHeight = fontSize * 1.25;
  const svg = lines
    .map(
      (line, i) =>
        `<text x="${x}" y="${round(top + i * lineHeight + fontSize)}"${attributes}>${escapeXml(line)}</text>`,
    )
    .join('');
  return { svg, height: lines.length * lineHeight };
}

export interface Body {
  /** Elements drawn first: <defs>, gridlines, bars. */
  svg: string;
  height: number;
  /** A plain-text account of the data, the download's <desc>. */
  description: string;
  /** Defs (patterns) the body refers to. */
  defs?: string;
}

/** Wraps a laid-out body in the outer <svg> of its rendering. */
export function frameSvg(frame: Frame, chart: ChartText, body: Body): string {
  return frame.mode === 'inline' ? inlineSvg(frame, body) : standaloneSvg(frame, chart, body);
}

// Inline, the chart repeats the table beside it, which is its text alternative
// (WAI's "redundant image" case, as GOV.UK's guidance on charts asks for a table
// of the data): hidden from assistive technology so nothing is read twice, with
// the caption from `chartFigure` saying where the figures are.
function inlineSvg(frame: Frame, body: Body): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="${Math.ceil(body.height)}" class="app-chart-figure__svg" aria-hidden="true" focusable="false" font-family="${escapeXml(FONT_FAMILY)}" font-size="${frame.text}" fill="${INK}">` +
    `${body.defs ?? ''}${body.svg}</svg>`
  );
}

// A download stands alone, so it names itself: role="img" with its title and a
// description of the data that a screen reader reads out where it is pasted.
function standaloneSvg(frame: Frame, chart: ChartText, body: Body): string {
  const scale = frame.text / 24;
  const pad = margin(scale);
  const total = round(frame.width + 2 * pad);
  const titleSize = round(32 * scale);
  const subtitleSize = round(24 * scale);
  const sourceSize = round(20 * scale);
  let y = pad * 0.75;
  const title = textBlock(wrapText(chart.title, frame.wrapWidth, titleSize, true), y, titleSize, ' font-weight="bold"');
  y += title.height;
  let subtitle = '';
  if (chart.subtitle) {
    const block = textBlock(wrapText(chart.subtitle, frame.wrapWidth, subtitleSize), y, subtitleSize, '');
    subtitle = block.svg;
    y += block.height;
  }
  y += frame.line;
  const bodyTop = y;
  y += body.height + frame.line * 0.5;
  let source = '';
  if (chart.source) {
    const block = textBlock(
      wrapText(chart.source, frame.wrapWidth, sourceSize),
      y,
      sourceSize,
      ` fill="${SECONDARY_INK}"`,
    );
    source = block.svg;
    y += block.height;
  }
  const height = Math.ceil(y + pad * 0.75);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="${height}" viewBox="0 0 ${total} ${height}" role="img" aria-labelledby="chart-title chart-desc" font-family="${escapeXml(FONT_FAMILY)}" font-size="${frame.text}" fill="${INK}">\n` +
    `<title id="chart-title">${escapeXml(chart.title)}</title>\n` +
    `<desc id="chart-desc">${escapeXml(body.description)}</desc>\n` +
    `${body.defs ?? ''}<rect width="${total}" height="${height}" fill="#fff"/>\n` +
    `<g transform="translate(${pad} 0)">${title.svg}${subtitle}\n` +
    `<g transform="translate(0 ${round(bodyTop)})">${body.svg}</g>\n` +
    `${source}</g>\n</svg>\n`
  );
}
