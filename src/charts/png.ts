// SVG to PNG with resvg, for pasting into documents that take no SVG. resvg
// draws text only with fonts it has been given and silently leaves out text it
// has no font for, so the fonts are found here and checked before any drawing.
import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Resvg, type ResvgRenderOptions, renderAsync } from '@resvg/resvg-js';

/** Where fonts are installed on Debian (and other Linux), macOS and Windows. */
export const FONT_DIRS = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  join(homedir(), '.local/share/fonts'),
  join(homedir(), '.fonts'),
  '/Library/Fonts',
  '/System/Library/Fonts',
  'C:\\Windows\\Fonts',
];

// Families with Arial's metrics, in order of preference, by their usual file
// names; the charts' layout assumes these metrics. Debian's fonts-liberation
// (which Chromium recommends) gives Liberation Sans; fonts-urw-base35
// (Ghostscript's) gives Nimbus Sans.
const FAMILIES: { family: string; file: RegExp }[] = [
  { family: 'Arial', file: /^arial(bd|bi|i|bold|italic|bolditalic)?\.ttf$/i },
  { family: 'Liberation Sans', file: /^liberationsans(regular|bold|italic|bolditalic)\.ttf$/i },
  { family: 'Helvetica', file: /^helvetica\.ttc$/i },
  { family: 'Arimo', file: /^arimo(regular|bold|italic|bolditalic)?\.ttf$/i },
  { family: 'Nimbus Sans', file: /^nimbussans(regular|bold|italic|bolditalic)\.(otf|ttf)$/i },
];

/** Loaded besides for the glyphs the main family lacks (other scripts), where installed. */
const FALLBACK = /^dejavusans(bold)?\.ttf$/i;

export interface PngOptions {
  /** Width of the PNG in px; the height keeps the SVG's proportions. By default the SVG's own width. */
  width?: number;
  /** Where to look for fonts, instead of the system's usual folders. */
  fontDirs?: string[];
}

/**
 * The SVG as a PNG on a white background. Throws, naming what to install,
 * when no Arial-compatible font is found: a chart without its words would
 * otherwise go into a report unnoticed.
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const { width } = options;
  if (width !== undefined && !(Number.isInteger(width) && width >= 1 && width <= 8000))
    throw new RangeError(`A PNG width is a whole number of px from 1 to 8000, not ${width}`);
  const image = await renderAsync(svg, {
    font: chartFonts(options.fontDirs ?? FONT_DIRS),
    fitTo: width === undefined ? { mode: 'original' } : { mode: 'width', value: width },
    background: '#fff',
  });
  return image.asPng();
}

type FontOptions = NonNullable<ResvgRenderOptions['font']>;

const found = new Map<string, FontOptions>();

/** The font files for charts under `dirs`, checked once to draw text; cached for each set of folders. */
export function chartFonts(dirs: string[]): FontOptions {
  const key = dirs.join('\n');
  const cached = found.get(key);
  if (cached) return cached;
  const files = dirs.flatMap((dir) => fontFiles(dir));
  for (const { family, file } of FAMILIES) {
    const own = unique(files.filter((f) => file.test(basename(f).replace(/[-_ ]/g, ''))));
    if (own.length === 0) continue;
    const font: FontOptions = {
      loadSystemFonts: false,
      fontFiles: [...own, ...unique(files.filter((f) => FALLBACK.test(basename(f).replace(/[-_ ]/g, ''))))],
      defaultFontFamily: family,
      sansSerifFamily: family,
    };
    // Proves the files load and draw: a text that draws nothing has no box.
    const probe = `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40"><text x="4" y="30" font-family="${family}" font-size="20">Ag</text></svg>`;
    if (new Resvg(probe, { font }).getBBox() === undefined)
      throw new Error(`The ${family} font files found (${own.join(', ')}) draw no text, so no chart PNG can be made.`);
    found.set(key, font);
    return font;
  }
  throw new Error(
    `No font to draw the text of chart PNGs: none of ${FAMILIES.map((f) => f.family).join(', ')} ` +
      `is installed under ${dirs.join(', ')}. On Debian, install fonts-liberation.`,
  );
}

/** Every file under dir (an empty list when it does not exist). */
function fontFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() || entry.isSymbolicLink())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
  } catch {
    return [];
  }
}

/** One file of each name: Debian installs some fonts twice (liberation and liberation2). */
function unique(files: string[]): string[] {
  const seen = new Set<string>();
  return files.filter((f) => {
    const name = basename(f).toLowerCase();
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}
