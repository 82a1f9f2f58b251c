// How series look. Every colour has at least 3:1 contrast with white (WCAG 2.2
// non-text contrast) and the first two with each other; beyond two series no
// set of colours can keep 3:1 between all of them, so each series also has its
// own fill pattern, line dash and marker shape, and is never told by colour alone.

export interface SeriesStyle {
  colour: string;
  pattern: 'solid' | 'stripes' | 'dots' | 'crosshatch' | 'horizontal' | 'vertical';
  /** stroke-dasharray of its line; null for a solid line. */
  dash: string | null;
  marker: 'circle' | 'square' | 'triangle' | 'diamond' | 'triangle-down' | 'cross';
}

export const SERIES_STYLES: readonly SeriesStyle[] = [
  { colour: '#1d3557', pattern: 'solid', dash: null, marker: 'circle' },
  { colour: '#2a9d8f', pattern: 'stripes', dash: '10 6', marker: 'square' },
  { colour: '#912b88', pattern: 'dots', dash: '2 5', marker: 'triangle' },
  { colour: '#b35c00', pattern: 'crosshatch', dash: '12 5 2 5', marker: 'diamond' },
  { colour: '#505a5f', pattern: 'horizontal', dash: '6 4', marker: 'triangle-down' },
  { colour: '#d4351c', pattern: 'vertical', dash: '1 4', marker: 'cross' },
];

/** Text and axis colours: GOV.UK's text black and secondary grey, and a light grey for gridlines. */
export const INK = '#0b0c0c';
export const SECONDARY_INK = '#505a5f';
export const GRID = '#b1b4b6';

export function seriesStyle(index: number): SeriesStyle {
  return SERIES_STYLES[index % SERIES_STYLES.length] as SeriesStyle;
}

/** The fill of series `index`: its colour, or its pattern from `seriesDefs`. */
export function seriesFill(prefix: string, index: number): string {
  const style = seriesStyle(index);
  return style.pattern === 'solid' ? style.colour : `url(#${prefix}-s${index})`;
}

/** The <pattern> elements for the first `count` series (white marks on the series colour). */
export function seriesDefs(prefix: string, count: number): string {
  const patterns: string[] = [];
  for (let i = 0; i < count; i++) {
    const { colour, pattern } = seriesStyle(i);
    if (pattern === 'solid') continue;
    const rotate = pattern === 'stripes' || pattern === 'crosshatch' ? ' patternTransform="rotate(45)"' : '';
    const marks = {
      stripes: '<rect width="3" height="8" fill="#fff"/>',
      dots: '<circle cx="4" cy="4" r="1.75" fill="#fff"/>',
      crosshatch: '<rect width="2" height="8" fill="#fff"/><rect width="8" height="2" fill="#fff"/>',
      horizontal: '<rect width="8" height="3" fill="#fff"/>',
      vertical: '<rect width="3" height="8" fill="#fff"/>',
    }[pattern];
    patterns.push(
      `<pattern id="${prefix}-s${i}" width="8" height="8" patternUnits="userSpaceOnUse"${rotate}>` +
        `<rect width="8" height="8" fill="${colour}"/>${marks}</pattern>`,
    );
  }
  return patterns.length ? `<defs>${patterns.join('')}</defs>` : '';
}

/** Series `index`'s marker, centred on (0, 0), `size` px across, with a white edge to stand off a crossing line. */
export function markerShape(index: number, size: number): string {
  const { colour, marker } = seriesStyle(index);
  const r = size / 2;
  const paint = `fill="${colour}" stroke="#fff" stroke-width="1.5"`;
  const path = (points: [number, number][]) =>
    `<path d="M${points.map(([x, y]) => `${round(x)},${round(y)}`).join('L')}Z" ${paint}/>`;
  switch (marker) {
    case 'circle':
      return `<circle r="${round(r)}" ${paint}/>`;
    case 'square':
      return `<rect x="${round(-r * 0.9)}" y="${round(-r * 0.9)}" width="${round(r * 1.8)}" height="${round(r * 1.8)}" ${paint}/>`;
    case 'triangle':
      return path([
        [0, -r * 1.15],
        [r * 1.1, r * 0.8],
        [-r * 1.1, r * 0.8],
      ]);
    case 'triangle-down':
      return path([
        [0, r * 1.15],
        [r * 1.1, -r * 0.8],
        [-r * 1.1, -r * 0.8],
      ]);
    case 'diamond':
      return path([
        [0, -r * 1.2],
        [r * 1.2, 0],
        [0, r * 1.2],
        [-r * 1.2, 0],
      ]);
    case 'cross': {
      const a = r * 0.4;
      const b = r * 1.1;
      return path([
        [-a, -b],
        [a, -b],
        [a, -a],
        [b, -a],
        [b, a],
        [a, a],
        [a, b],
        [-a, b],
        [-a, a],
        [-b, a],
        [-b, -a],
        [-a, -a],
      ]);
    }
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
