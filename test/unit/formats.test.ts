import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStoredText, postcodeDistrict, storeText } from '../../src/survey/formats.ts';
import { typedPostcode } from './survey-paths.ts';

const sectorOf = (typed: string) => storeText('postcode', typed);

describe('a typed postcode', () => {
  it.each([
    ['A9 9AA', 'M1 1AE', 'M1 1'],
    ['A99 9AA', 'B33 8TH', 'B33 8'],
    ['AA9 9AA', 'CR2 6XH', 'CR2 6'],
    ['AA99 9AA', 'DN55 1PT', 'DN55 1'],
    ['A9A 9AA', 'W1A 0AX', 'W1A 0'],
    ['AA9A 9AA', 'EC1A 1BB', 'EC1A 1'],
  ])('in the form %s (%s) is kept as its sector', (_, typed, sector) => {
    expect(sectorOf(typed)).toBe(sector);
    expect(sectorOf(typed.replace(' ', ''))).toBe(sector);
    expect(sectorOf(typed.toLowerCase())).toBe(sector);
    expect(sectorOf(typed.toLowerCase().replace(' ', ''))).toBe(sector);
  });

  it('is cut to its sector: "DA12 1AU" becomes "DA12 1"', () => {
    expect(sectorOf('DA12 1AU')).toBe('DA12 1');
  });

  it('splits a postcode typed without a space at the inward code', () => {
    expect(sectorOf('M11AE')).toBe('M1 1');
    expect(sectorOf('DA111AA')).toBe('DA11 1');
    expect(sectorOf('DA11AA')).toBe('DA1 1');
  });

  it('may have extra spaces around and inside', () => {
    expect(sectorOf('  DA12    1AU ')).toBe('DA12 1');
    expect(sectorOf('DA12\t1AU')).toBe('DA12 1');
  });

  it('may be a sector already (what a returning respondent sees)', () => {
    expect(sectorOf('DA12 1')).toBe('DA12 1');
    expect(sectorOf('da12 1')).toBe('DA12 1');
  });

  it.each(['C', 'I', 'K', 'M', 'O', 'V'])('is refused with %s in the inward letters', (bad) => {
    expect(sectorOf(`DA12 1${bad}U`)).toBeNull();
    expect(sectorOf(`DA12 1A${bad}`)).toBeNull();
    // The same letter is fine in the outward code.
    expect(sectorOf(`${bad}1 1AU`)).toBe(`${bad}1 1`);
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['too long', 'DA12 1AUX'],
    ['a three-letter area', 'DAB12 1AU'],
    ['a three-digit district', 'DA123 1AU'],
    ['starting with a digit', '12 1AU'],
    ['without its inward code', 'DA12'],
    ['an inward code without its digit', 'DA12 AU'],
    ['an inward code of one letter', 'DA12 1A'],
    ['two postcodes', 'DA12 1AU DA12 1AU'],
    ['a sector without its space', 'DA121'],
    ['punctuation', 'DA12-1AU'],
    ['a very long input', `DA12 1AU${' '.repeat(100_000)}x`],
  ])('is refused when %s', (_, typed) => {
    expect(sectorOf(typed)).toBeNull();
  });

  it('is kept as a sector for any postcode of any of the six forms', () => {
    fc.assert(
      fc.property(typedPostcode, (typed) => {
        const sector = sectorOf(typed);
        expect(sector).not.toBeNull();
        expect(isStoredText('postcode', sector as string)).toBe(true);
        // Storing what was stored changes nothing.
        expect(sectorOf(sector as string)).toBe(sector);
        const compact = typed.replace(/\s/g, '').toUpperCase();
        expect(compact.startsWith((sector as string).replace(' ', ''))).toBe(true);
        expect(compact.length - (sector as string).replace(' ', '').length).toBe(2);
      }),
    );
  });

  it('never fails on any text, and anything it keeps is a sector', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (typed) => {
        const sector = sectorOf(typed);
        if (sector !== null) expect(isStoredText('postcode', sector)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('a stored postcode', () => {
  it('is a sector', () => {
    expect(isStoredText('postcode', 'DA12 1')).toBe(true);
    expect(isStoredText('postcode', 'EC1A 1')).toBe(true);
  });

  it.each(['DA12 1AU', 'da12 1', 'DA121', 'DA12  1', ' DA12 1', 'prefer_not_to_say', ''])('is not %j', (value) => {
    expect(isStoredText('postcode', value)).toBe(false);
  });

  it('is grouped by its district, the outward code', () => {
    expect(postcodeDistrict('DA12 1')).toBe('DA12');
    expect(postcodeDistrict('EC1A 1')).toBe('EC1A');
    expect(postcodeDistrict('M1 1')).toBe('M1');
  });
});
