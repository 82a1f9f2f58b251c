import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../root.ts';
import type { Survey } from '../survey/definition.ts';
import { type HeadMeta, shareCardText, startPageMeta } from '../survey/share.ts';

// The start page's social preview. The share cards are drawn by
// scripts/make-share-images.ts: `share-<slug>.png` for a survey that has its
// own, `share-default.png` for any other.

const imagesDir = join(appRoot, 'public/images');

/** What share-default.png says (see DEFAULT_CARD in scripts/make-share-images.ts). */
const DEFAULT_CARD_TEXT = shareCardText({
  title: 'Tell us what matters where you live',
  owner: 'Soundings surveys',
});

// By definition version: a new version's title is the card's alt text at once.
const cards = new WeakMap<Survey, { path: string; alt: string }>();

function cardOf(survey: Survey) {
  let card = cards.get(survey);
  if (!card) {
    const own = `share-${survey.slug}.png`;
    card = existsSync(join(imagesDir, own))
      ? { path: `/public/images/${own}`, alt: shareCardText(survey) }
      : { path: '/public/images/share-default.png', alt: DEFAULT_CARD_TEXT };
    cards.set(survey, card);
  }
  return card;
}

/** Open Graph and Twitter card tags for a survey's start page (the layout's `it.meta`). */
export function socialPreview(survey: Survey, publicUrl: string): HeadMeta {
  return startPageMeta(survey, publicUrl, { ...cardOf(survey), width: 1200, height: 630 });
}
