import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { barChart, type Chart } from '../../../src/charts/index.ts';
import { chartFonts, FONT_DIRS, svgToPng } from '../../../src/charts/png.ts';
import { textWidth } from '../../../src/charts/text.ts';
import { SAMPLES } from './samples.ts';
import { parseXml } from './xml.ts';

const chart = SAMPLES.bar as Extract<Chart, { kind: 'bar' }>;

/** How many pixels in the box are dark (text or a bar), and how many there are. */
function darkPixels(png: PNG, box: { left: number; top: number; right: number; bottom: number }) {
  let dark = 0;
  let all = 0;
  for (let y = Math.round(box.top); y < Math.round(box.bottom); y++) {
    for (let x = Math.round(box.left); x < Math.round(box.right); x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i] as number, png.data[i + 1] as number, png.data[i + 2] as number];
      if (r + g + b < 3 * 128) dark++;
      all++;
    }
  }
  return { dark, all };
}

describe('chart PNG', () => {
  const empty = mkdtempSync(join(tmpdir(), 'soundings-no-fonts-'));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it('finds an Arial-compatible font on this machine', () => {
    const font = chartFonts(FONT_DIRS);
    expect(['Arial', 'Liberation Sans', 'Helvetica', 'Arimo', 'Nimbus Sans']).toContain(font.defaultFontFamily);
    expect(font.fontFiles?.length).toBeGreaterThan(0);
  });

  it('is the size asked for, white, with the title drawn where the title is', async () => {
    const svg = barChart(chart, { mode: 'standalone' });
    const svgHeight = Number(parseXml(svg).attributes.height);
    const png = PNG.sync.read(await svgToPng(svg, { width: 1200 }));
    expect(png.width).toBe(1200);
    expect(png.height).toBe(svgHeight);
    // The title's line: 48 px in from the left, its baseline 68 px down, 32 px bold.
    const titleWidth = textWidth(chart.title, 32, true);
    const title = darkPixels(png, { left: 48, top: 40, right: 48 + titleWidth, bottom: 76 });
    expect(title.dark / title.all).toBeGreaterThan(0.1);
    const beside = darkPixels(png, { left: 48 + titleWidth + 24, top: 40, right: 1152, bottom: 76 });
    expect(beside.dark).toBe(0);
    const corner = darkPixels(png, { left: 0, top: 0, right: 40, bottom: 30 });
    expect(corner.dark).toBe(0);
  });

  it('keeps the proportions at another width', async () => {
    const svg = barChart(chart, { mode: 'standalone' });
    const svgHeight = Number(parseXml(svg).attributes.height);
    const png = PNG.sync.read(await svgToPng(svg, { width: 600 }));
    expect(png.width).toBe(600);
    expect(png.height).toBe(Math.round(svgHeight / 2));
  });

  it('fails, saying what to install, when no font is found rather than drop the text', async () => {
    const svg = barChart(chart, { mode: 'standalone' });
    await expect(svgToPng(svg, { fontDirs: [empty] })).rejects.toThrow(/No font .*fonts-liberation/);
  });

  it('refuses an unreasonable width', async () => {
    await expect(
      svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>', { width: 0 }),
    ).rejects.toThrow(RangeError);
  });
});
