// Draws the 1200 x 630 share card that social media show beside a shared link
// to a survey (Open Graph and Twitter card image): an SVG designed for it, in
// the service's colours, with the survey's title and owner, rendered once to
// PNG by Chromium. Both files are committed in public/images/; run this again
// after adding a survey or changing a title:
//
//   npx tsx scripts/make-share-images.ts
//
// It draws `share-<slug>` for every survey this deployment serves, and
// `share-default` for any survey without its own card.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadSurveys } from '../src/survey/definitions/index.ts';

const root = join(import.meta.dirname, '..');
const out = join(root, 'public/images');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const WIDTH = 1200;
export const HEIGHT = 630;

const NAVY = '#1d3557';
const TEAL = '#2a9d8f';
const PALE = '#d9e6f2';
const FONT = "'Liberation Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif";

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Greedy word wrap by an estimate of the characters that fit at a font size (bold sans: about 0.56 em each). */
function wrap(text: string, width: number, size: number): string[] {
  const fit = Math.floor(width / (size * 0.56));
  const lines: string[] = [];
  for (const word of text.split(/\s+/)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && `${last} ${word}`.length <= fit) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** The title at the largest size that fits in four lines beside the picture. */
function titleLines(title: string): { size: number; lines: string[] } {
  for (const size of [68, 60, 52, 46, 40]) {
    const lines = wrap(title, 740, size);
    if (lines.length <= 4) return { size, lines };
  }
  return { size: 40, lines: wrap(title, 740, 40).slice(0, 5) };
}

/** A paper questionnaire, slightly turned: three questions with tick boxes, one ticked. */
function questionnaire(): string {
  const rows = [0, 1, 2]
    .map((i) => {
      const y = 70 + i * 92;
      const tick =
        i === 1
          ? `<path d="M 40 ${y + 14} l 12 14 l 24 -30" fill="none" stroke="${TEAL}" stroke-width="8" stroke-linecap="round" stroke-linejoin="round"/>`
          : '';
      return `<rect x="34" y="${y}" width="38" height="38" rx="4" fill="#fff" stroke="${NAVY}" stroke-width="4"/>${tick}
      <rect x="92" y="${y + 6}" width="${150 - i * 28}" height="12" rx="6" fill="${NAVY}" opacity="0.85"/>
      <rect x="92" y="${y + 26}" width="${110 + i * 20}" height="10" rx="5" fill="${NAVY}" opacity="0.35"/>`;
    })
    .join('\n      ');
  return `<g transform="translate(880 150) rotate(4)">
      <rect x="6" y="10" width="270" height="340" rx="14" fill="#000" opacity="0.25"/>
      <rect width="270" height="340" rx="14" fill="#fff"/>
      <rect x="34" y="28" width="120" height="14" rx="7" fill="${TEAL}"/>
      ${rows}
    </g>`;
}

/** The share card as SVG: owner above, title, "Have your say", the questionnaire on the right. */
export function shareCardSvg(card: { title: string; owner: string }): string {
  const { size, lines } = titleLines(card.title);
  const lineHeight = Math.round(size * 1.12);
  const top = 250 - ((lines.length - 3) * lineHeight) / 2;
  const title = lines
    .map((line, i) => `<tspan x="80" y="${Math.round(top + i * lineHeight)}">${xml(line)}</tspan>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${xml(card.title)}">
  <rect width="${WIDTH}" height="${HEIGHT}" fill="${NAVY}"/>
  <rect width="${WIDTH}" height="16" fill="${TEAL}"/>
  <rect y="${HEIGHT - 16}" width="${WIDTH}" height="16" fill="${TEAL}"/>
  <text x="80" y="112" fill="${PALE}" font-family="${FONT}" font-size="30" font-weight="700">${xml(card.owner)}</text>
  <text fill="#fff" font-family="${FONT}" font-size="${size}" font-weight="700">${title}</text>
  <rect x="80" y="478" width="292" height="72" rx="36" fill="${TEAL}"/>
  <text x="226" y="526" fill="#fff" font-family="${FONT}" font-size="34" font-weight="700" text-anchor="middle">Have your say</text>
  <text x="400" y="526" fill="${PALE}" font-family="${FONT}" font-size="30">online or on paper</text>
  ${questionnaire()}
</svg>
`;
}

/** The card for a survey without its own. */
export const DEFAULT_CARD = { title: 'Tell us what matters where you live', owner: 'Soundings surveys' };

async function main() {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not at ${chromiumPath}: set CHROMIUM_PATH`);
  mkdirSync(out, { recursive: true });
  const cards = [
    ...loadSurveys().map((s) => ({ name: `share-${s.slug}`, card: { title: s.title, owner: s.owner } })),
    { name: 'share-default', card: DEFAULT_CARD },
  ];
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 1 });
    for (const { name, card } of cards) {
      const svg = shareCardSvg(card);
      writeFileSync(join(out, `${name}.svg`), svg);
      await page.setContent(`<!DOCTYPE html><html><body style="margin:0">${svg}</body></html>`);
      await page.screenshot({ path: join(out, `${name}.png`), clip: { x: 0, y: 0, width: WIDTH, height: HEIGHT } });
      console.log(`public/images/${name}.svg and .png`);
    }
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  await main();
}
