import type { Survey } from './definition.ts';

// Where residents find a survey: its address, one share link per channel (so
// the analysis can tell which post or poster worked), and the tags that make a
// link shared on social media show a title, a summary and a picture. Every
// absolute address is built from the configured public URL, never from a
// request's Host header.

/** The channel a link without `?src=` is counted under. */
export const DIRECT_CHANNEL = 'web';

export interface ShareLink {
  /** The channel code responses from this link are counted under. */
  code: string;
  label: string;
  url: string;
}

/** The survey's start page: `https://council.example/s/csp-2019`. */
export function surveyUrl(survey: Survey, publicUrl: string): string {
  return `${publicUrl}/s/${survey.slug}`;
}

/** The plain link (counted as `web`), then one link per channel of the survey: `…/s/csp-2019?src=poster`. */
export function shareLinks(survey: Survey, publicUrl: string): ShareLink[] {
  const base = surveyUrl(survey, publicUrl);
  return [
    { code: DIRECT_CHANNEL, label: 'Direct link (no channel)', url: base },
    ...survey.channels.map((c) => ({ code: c.code, label: c.label, url: `${base}?src=${c.code}` })),
  ];
}

/** Head tags for a page: a description, its canonical address, Open Graph properties and Twitter card names. */
export interface HeadMeta {
  description: string;
  canonical: string;
  properties: [string, string][];
  names: [string, string][];
}

export interface ShareImage {
  /** The image's path under the public URL (`/public/images/share-csp-2019.png`). */
  path: string;
  width: number;
  height: number;
  alt: string;
}

/** The survey's own share summary, else the first sentences of its introduction, up to about `max` characters, ending on a word. */
export function summaryOf(survey: Survey, max = 200): string {
  if (survey.shareSummary) return survey.shareSummary;
  const sentences = survey.intro.join(' ').match(/[^.!?]+[.!?]+(\s|$)/g) ?? [survey.intro.join(' ')];
  let out = '';
  for (const sentence of sentences.map((s) => s.trim())) {
    if (out && out.length + sentence.length + 1 > max) break;
    out = out ? `${out} ${sentence}` : sentence;
  }
  if (out.length <= max) return out;
  const cut = out.slice(0, max - 1);
  return `${cut.slice(0, cut.lastIndexOf(' ')).replace(/[\s,;:–-]+$/, '')}…`;
}

/** The start page's social preview: Open Graph and Twitter card tags, all addresses absolute. */
export function startPageMeta(survey: Survey, publicUrl: string, image: ShareImage): HeadMeta {
  const url = surveyUrl(survey, publicUrl);
  const description = summaryOf(survey);
  const imageUrl = `${publicUrl}${image.path}`;
  return {
    description,
    canonical: url,
    properties: [
      ['og:type', 'website'],
      ['og:site_name', survey.owner],
      ['og:locale', 'en_GB'],
      ['og:title', survey.title],
      ['og:description', description],
      ['og:url', url],
      ['og:image', imageUrl],
      ['og:image:type', 'image/png'],
      ['og:image:width', String(image.width)],
      ['og:image:height', String(image.height)],
      ['og:image:alt', image.alt],
    ],
    names: [
      ['twitter:card', 'summary_large_image'],
      ['twitter:title', survey.title],
      ['twitter:description', description],
      ['twitter:image', imageUrl],
      ['twitter:image:alt', image.alt],
    ],
  };
}

/** What a survey's share card says, word for word: its alt text. */
export function shareCardText(survey: Pick<Survey, 'title' | 'owner'>): string {
  return `${survey.title}. Have your say: answer online or on paper. ${survey.owner}.`;
}
