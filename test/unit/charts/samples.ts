// Charts of every kind with awkward data: long and hostile labels, suppressed
// values, zero, confidence intervals, a gap in a trend, a year of days.
import type { Chart } from '../../../src/charts/index.ts';

export const HOSTILE = `</text><script>alert("x")</script> & 'quotes' <b>`;

/** A day's date, `offset` days after `start` (YYYY-MM-DD). */
export function dayAfter(start: string, offset: number): string {
  return new Date(Date.parse(`${start}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10);
}

export const SAMPLES: Record<string, Chart> = {
  bar: {
    kind: 'bar',
    title: 'Most important issue',
    subtitle: 'Of 1,234 respondents to this question',
    source: 'Source: Community Safety Survey 2019',
    unit: '%',
    bars: [
      { label: 'Violence', value: 40, display: '40.0%', marker: 'Top 3' },
      { label: 'Theft through ‘scams’/deception', value: 25.5, display: '25.5%', marker: 'Top 3' },
      { label: 'Anti-social behaviour & "nuisance" <neighbours>', value: 12.25, display: '12.3%', marker: 'Top 3' },
      {
        label: 'Town Centre safety at night, including the railway station, bus station and taxi ranks',
        value: 8,
        display: '8.0%',
      },
      { label: 'Other', value: null, display: '[c]' },
      { label: 'None of these', value: 0, display: '0.0%' },
    ],
  },
  counts: {
    kind: 'bar',
    title: 'Respondents by area',
    bars: [
      { label: 'Dartford', value: 1523 },
      { label: 'Gravesham', value: 1021 },
      { label: 'Sevenoaks', value: 12 },
      { label: 'https://example.org/a-very-long-unbroken-label-that-cannot-wrap-at-any-space', value: 480 },
    ],
  },
  grouped: {
    kind: 'grouped-bar',
    title: 'Respondents and population by age',
    subtitle: 'Weighted estimates with 95% confidence intervals',
    unit: '%',
    series: ['Respondents', 'Population (Census 2021)'],
    categories: [
      { label: '16 to 24', values: [{ value: 8.2, low: 6.1, high: 10.4 }, { value: 12.5 }] },
      { label: '25 to 44', values: [{ value: 30.1, low: 27, high: 33.2 }, { value: 33.9 }] },
      { label: '45 to 64', values: [{ value: 38.4, low: 35, high: 41.9 }, { value: 32 }] },
      { label: '65 and over', values: [{ value: null, display: '[c]' }, { value: 21.6 }] },
    ],
  },
  years: {
    kind: 'grouped-bar',
    title: 'Victims of crime by year',
    series: ['2018', '2019', '2020', '2021'],
    categories: [
      { label: 'Violence', values: [{ value: 120 }, { value: 135 }, { value: 99 }, { value: 150 }] },
      { label: 'Burglary', values: [{ value: 60 }, { value: 45 }, { value: 30 }, { value: 20 }] },
    ],
  },
  days: {
    kind: 'time-series',
    title: 'Responses per day',
    valueLabel: 'Responses per day',
    points: Array.from({ length: 60 }, (_, i) => ({
      date: dayAfter('2019-02-18', i),
      value: Math.round(40 + 30 * Math.sin(i / 5) + (i % 7) * 3),
    })),
  },
  year: {
    kind: 'time-series',
    title: 'Responses per day over a year',
    valueLabel: 'Responses per day',
    points: Array.from({ length: 400 }, (_, i) => ({ date: dayAfter('2019-11-01', i), value: (i * 37) % 23 })),
  },
  trend: {
    kind: 'trend',
    title: 'Feel safe in the town centre at night',
    valueLabel: 'Per cent of respondents',
    unit: '%',
    max: 100,
    waves: ['2017', '2018', '2019', '2020'],
    series: [
      { name: 'Dartford', values: [55, 58, 61, 60] },
      { name: 'Gravesham', values: [48, null, 52, 57] },
      { name: 'Kent average', values: [50, 51, 53, 54] },
    ],
  },
};
