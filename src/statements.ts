import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { appRoot } from './root.ts';

// The statements a council must publish beside its survey: the privacy notice
// (UK GDPR Articles 13 and 14), the accessibility statement (Public Sector
// Bodies Accessibility Regulations 2018) and how to contact the people who run
// it. What the software itself does (what is stored, the postcode cut to its
// sector, the cookies, how the pages were tested) is written in the templates,
// so a deployment cannot contradict it; what only the council knows (who the
// controller is, why, the lawful basis, how long answers are kept, the contact
// details, the compliance status) comes from this file, one per deployment.

/** The file used when STATEMENTS_FILE is not set: the defaults for the CSP 2019 survey. */
export const DEFAULT_STATEMENTS_FILE = join(appRoot, 'config/statements.json');

const text = z.string().trim().min(1);
const paragraphs = z.array(text).min(1);
const isoDate = z.iso.date();

const contactSchema = z
  .strictObject({
    /** Who to contact and how, as the pages say it ("Contact the Community Safety Partnership through either council:"). */
    text: paragraphs,
    email: z.email().optional(),
    phone: text.optional(),
    /** Postal address, one line each. */
    address: z.array(text).min(1).optional(),
    /** Contact pages elsewhere (the councils' own websites). Links, not requests: nothing is loaded from them. */
    links: z.array(z.strictObject({ text, href: z.url({ protocol: /^https?$/ }) })).optional(),
  })
  .refine((c) => c.email || c.phone || c.address || c.links?.length, {
    message: 'give at least one way to contact you: email, phone, address or links',
  });

const statementsSchema = z.strictObject({
  /** Who runs the service, as residents know them. */
  organisation: text,
  contact: contactSchema,
  privacy: z.strictObject({
    /** Who the controller is (the organisations that decide why and how the answers are used). */
    controller: paragraphs,
    /** Why the answers are collected and what they are used for. */
    purpose: paragraphs,
    /** The lawful basis (and the condition for the optional special category questions). */
    lawfulBasis: paragraphs,
    /** Who else sees the answers. */
    sharing: paragraphs,
    /** How long the answers are kept. */
    retention: paragraphs,
    /** The date the notice was last updated (YYYY-MM-DD). */
    updated: isoDate,
  }),
  accessibility: z
    .strictObject({
      /** Against WCAG 2.2 AA: `full`, `partial` or `not` compliant. */
      status: z.enum(['full', 'partial', 'not']),
      /** The non-accessible content (required unless fully compliant). */
      issues: z.array(text).default([]),
      /** When a person asking for another format or reporting a problem will hear back. */
      responseTime: text,
      /** When the statement was prepared, last reviewed, and the service last tested (YYYY-MM-DD). */
      prepared: isoDate,
      reviewed: isoDate,
      tested: isoDate,
    })
    .refine((a) => a.status === 'full' || a.issues.length > 0, {
      message: 'list the non-accessible content in "issues" unless the status is "full"',
      path: ['issues'],
    }),
  paper: z.strictObject({
    /** Where to hand in or post a completed paper questionnaire. */
    returnTo: paragraphs,
  }),
});

export type Statements = z.infer<typeof statementsSchema>;
export type StatementsInput = z.input<typeof statementsSchema>;

/** Validates statements; throws an error listing every problem, so a broken file stops start-up. */
export function parseStatements(input: unknown, source = 'statements'): Statements {
  const parsed = statementsSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new Error(`The statements in ${source} are not valid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads and validates the statements file (the CSP defaults when no path is given). */
export function loadStatements(path: string = DEFAULT_STATEMENTS_FILE): Statements {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`The statements file ${path} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`The statements file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseStatements(json, path);
}

/** A date from the statements as the pages print it: "26 November 2026". */
export function formatDate(isoDay: string): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(`${isoDay}T00:00:00Z`),
  );
}
