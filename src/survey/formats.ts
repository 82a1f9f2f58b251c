// Text answers that have a format. Postcodes are the only one: the full postcode
// is checked and then cut to its sector ("DA12 1AU" -> "DA12 1") before it is
// kept anywhere, so no respondent can be located from it.

// Outward code (area, district, optional sub-district letter) then inward code.
const FULL_POSTCODE = /^([A-Z]{1,2}[0-9][0-9A-Z]?) ?([0-9])[ABD-HJLNP-UW-Z]{2}$/;
const SECTOR = /^([A-Z]{1,2}[0-9][0-9A-Z]?) ([0-9])$/;

export type TextFormat = 'postcode';

/**
 * Normalises what a person typed: compatibility forms (full-width letters), case and spaces.
 * Zero-width characters, pasted along with a postcode, are invisible: they are dropped, not read as a space.
 */
function tidy(input: string): string {
  return input
    .normalize('NFKC')
    .replace(/[\u200B-\u200D\u2060\uFEFF]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .toUpperCase();
}

/** The value to store for a typed answer, or null when it is not in the format. */
export function storeText(format: TextFormat, input: string): string | null {
  switch (format) {
    case 'postcode': {
      const value = tidy(input);
      if (value.length > 10) return null;
      const full = FULL_POSTCODE.exec(value);
      if (full) return `${full[1]} ${full[2]}`;
      // A returning respondent sees the sector we kept; submitting it again is fine.
      const sector = SECTOR.exec(value);
      return sector ? `${sector[1]} ${sector[2]}` : null;
    }
  }
}

/** Whether a stored value is one that storeText can produce. */
export function isStoredText(format: TextFormat, value: string): boolean {
  switch (format) {
    case 'postcode':
      return SECTOR.test(value);
  }
}

/** The postcode district (outward code) of a stored sector, for analysis. */
export function postcodeDistrict(sector: string): string {
  return sector.split(' ')[0] ?? sector;
}
