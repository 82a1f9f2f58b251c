import { type CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { optionsOf, type Survey } from '../survey/definition.ts';

/** One published population count: how many people of one category of a variable live in a district. */
export interface PopulationTarget {
  district: string;
  variable: string;
  category: string;
  count: number;
  /** Whom the count covers ("persons aged 18+ mid-2019"). */
  basis: string;
  source: string;
}

/** One population category and the survey option codes that fall in it. */
export interface MappedCategory {
  readonly category: string;
  readonly codes: readonly string[];
}

/** How one population variable is read from the survey: its question and, in order, its categories. */
export interface MappedVariable {
  readonly question: string;
  /** In their natural order (youngest to oldest): only neighbours here may be merged. */
  readonly categories: readonly MappedCategory[];
}

/** Per population variable (age, sex, ethnic_group), the question and codes it maps onto. */
export type TargetMapping = Readonly<Record<string, MappedVariable>>;

/** A survey's population variables (see `population` in its definition) as the mapping raking reads. */
export function mappingOf(survey: Survey): TargetMapping {
  return survey.population?.variables ?? {};
}

/** Figures as a targets file (the columns of TARGETS_COLUMNS), to download or edit and upload again. */
export function targetsCsv(targets: readonly PopulationTarget[]): string {
  return stringify([
    [...TARGETS_COLUMNS],
    ...targets.map((t) => [t.district, t.variable, t.category, t.count, t.basis, t.source]),
  ]);
}

/** The columns of a population targets file, in the order written. */
export const TARGETS_COLUMNS = ['district', 'variable', 'category', 'population', 'basis', 'source'] as const;

/** The problems of a mapping against a survey: unknown questions, codes that are not options, codes in two categories. */
export function mappingProblems(mapping: TargetMapping, survey: Survey): string[] {
  const problems: string[] = [];
  for (const [variable, mapped] of Object.entries(mapping)) {
    const questions = survey.questionsById.get(mapped.question);
    if (!questions) {
      problems.push(`${variable}: the survey has no question "${mapped.question}"`);
      continue;
    }
    const options = new Set(questions.flatMap((q) => optionsOf(q).map((o) => o.code)));
    const seen = new Map<string, string>();
    const categories = new Set<string>();
    for (const { category, codes } of mapped.categories) {
      if (categories.has(category)) problems.push(`${variable}: category "${category}" appears twice`);
      categories.add(category);
      if (codes.length === 0) problems.push(`${variable}: category "${category}" maps onto no code`);
      for (const code of codes) {
        if (!options.has(code))
          problems.push(
            `${variable}: "${code}" (category "${category}") is not an option of question "${mapped.question}"`,
          );
        const earlier = seen.get(code);
        if (earlier !== undefined)
          problems.push(`${variable}: "${code}" is mapped to both "${earlier}" and "${category}"`);
        seen.set(code, category);
      }
    }
  }
  return problems;
}

/**
 * One respondent's answers (by question id) as population categories (by variable):
 * undefined where the question is unanswered or its answer has no population row.
 */
export function mapAnswers(
  mapping: TargetMapping,
  answers: Readonly<Record<string, unknown>>,
): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const [variable, mapped] of Object.entries(mapping)) {
    const answer = answers[mapped.question];
    values[variable] =
      typeof answer === 'string' ? mapped.categories.find((c) => c.codes.includes(answer))?.category : undefined;
  }
  return values;
}

export type ParsedTargets = { ok: true; targets: PopulationTarget[] } | { ok: false; problems: string[] };

/**
 * Reads a population targets CSV (columns TARGETS_COLUMNS) and checks it against the
 * mapping and the survey's districts, listing every problem found, with row numbers.
 */
export function parseTargets(
  csvText: string,
  options: { mapping: TargetMapping; districts: readonly string[] },
): ParsedTargets {
  const { mapping, districts } = options;
  const problems: string[] = [];
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(csvText, {
      bom: true,
      info: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      skip_records_with_error: true,
      on_skip: (error: CsvError | undefined) => {
        if (error) problems.push(`row ${error.lines}: ${error.message}`);
        return undefined;
      },
      // With info, each record comes as { record, info }; the sync typings do not say so.
    }) as unknown as typeof rows;
  } catch (error) {
    return { ok: false, problems: [`the file cannot be read as CSV: ${(error as Error).message}`] };
  }
  const [header, ...body] = rows;
  if (!header) return { ok: false, problems: ['the file is empty: it needs a header row and one row per count'] };

  const names = header.record.map((name) => name.toLowerCase());
  const column = new Map<string, number>();
  names.forEach((name, i) => {
    if (column.has(name)) problems.push(`row ${header.info.lines}: column "${name}" appears twice in the header`);
    else column.set(name, i);
  });
  const missing = TARGETS_COLUMNS.filter((name) => !column.has(name));
  const unknown = names.filter((name) => !(TARGETS_COLUMNS as readonly string[]).includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [
      missing.length > 0 ? `no column ${missing.map((n) => `"${n}"`).join(', ')}` : '',
      unknown.length > 0 ? `unknown column ${unknown.map((n) => `"${n || '(blank)'}"`).join(', ')}` : '',
    ].filter(Boolean);
    problems.unshift(
      `row ${header.info.lines}: the header must be ${TARGETS_COLUMNS.join(',')} (${parts.join('; ')})` +
        (missing.length > 0 ? '; the rows were not checked' : ''),
    );
    // Without every column the rows cannot be read reliably: the header is the one problem to fix first.
    if (missing.length > 0) return { ok: false, problems };
  }

  const at = (record: string[], name: (typeof TARGETS_COLUMNS)[number]) => record[column.get(name)!] ?? '';
  const targets: PopulationTarget[] = [];
  const rowOf = new Map<string, number>();
  for (const { record, info } of body) {
    const row = `row ${info.lines}`;
    const rowProblems: string[] = [];
    if (record.length !== names.length)
      rowProblems.push(`${row}: has ${record.length} fields where the header has ${names.length}`);
    const district = at(record, 'district');
    const variable = at(record, 'variable');
    const category = at(record, 'category');
    const population = at(record, 'population');
    if (!districts.includes(district))
      rowProblems.push(
        `${row}: unknown district "${district}" (the survey's districts are ${districts.map((d) => `"${d}"`).join(', ')})`,
      );
    const mapped = Object.hasOwn(mapping, variable) ? mapping[variable] : undefined;
    if (!mapped)
      rowProblems.push(
        `${row}: unknown variable "${variable}" (known: ${Object.keys(mapping)
          .map((v) => `"${v}"`)
          .join(', ')})`,
      );
    else if (!mapped.categories.some((c) => c.category === category))
      rowProblems.push(
        `${row}: unknown category "${category}" of ${variable} (known: ${mapped.categories.map((c) => `"${c.category}"`).join(', ')})`,
      );
    let count = Number.NaN;
    if (population === '') rowProblems.push(`${row}: the population count is missing`);
    else if (/^-\s*\d+(\.\d+)?$/.test(population))
      rowProblems.push(`${row}: the population count "${population}" is negative`);
    else if (!/^\d+(\.\d+)?$/.test(population))
      rowProblems.push(`${row}: the population count "${population}" is not a number (digits only, no commas)`);
    else count = Number(population);
    const key = `${district}\u0000${variable}\u0000${category}`;
    const first = rowOf.get(key);
    if (first !== undefined) rowProblems.push(`${row}: repeats ${district} ${variable} ${category} of row ${first}`);
    else rowOf.set(key, info.lines);
    problems.push(...rowProblems);
    if (rowProblems.length === 0)
      targets.push({ district, variable, category, count, basis: at(record, 'basis'), source: at(record, 'source') });
  }
  if (body.length === 0) problems.push('the file has a header but no counts');

  // Completeness is judged on rows that name a known district, variable and category, wherever else they failed.
  const present = new Map<string, Map<string, Set<string>>>();
  for (const { record } of body) {
    const district = at(record, 'district');
    const variable = at(record, 'variable');
    const category = at(record, 'category');
    if (!districts.includes(district) || !Object.hasOwn(mapping, variable)) continue;
    const byVariable = present.get(district) ?? new Map<string, Set<string>>();
    present.set(district, byVariable);
    const categories = byVariable.get(variable) ?? new Set<string>();
    byVariable.set(variable, categories);
    categories.add(category);
  }
  const inFile = districts.filter((d) => present.has(d));
  for (const variable of Object.keys(mapping)) {
    const having = inFile.filter((d) => present.get(d)?.has(variable));
    if (having.length === 0) continue;
    for (const district of inFile) {
      const categories = present.get(district)?.get(variable);
      if (!categories) {
        problems.push(`${district} has no ${variable} rows, which ${having.join(', ')} has`);
        continue;
      }
      const absent = mapping[variable]!.categories.map((c) => c.category).filter((c) => !categories.has(c));
      if (absent.length > 0) problems.push(`${district} ${variable} has no row for ${absent.join(', ')}`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, targets };
}

export type MergedTargets =
  | { ok: true; targets: PopulationTarget[]; mapping: TargetMapping }
  | { ok: false; problem: string };

/**
 * Merges neighbouring categories of one variable (18_24 with 25_34 into "18_24+25_34"),
 * in every district: counts summed, codes joined. Refuses unknown or non-adjacent categories.
 */
export function mergeCategories(
  targets: readonly PopulationTarget[],
  mapping: TargetMapping,
  variable: string,
  categories: readonly string[],
): MergedTargets {
  const mapped = Object.hasOwn(mapping, variable) ? mapping[variable] : undefined;
  if (!mapped) return { ok: false, problem: `there is no variable "${variable}" to merge categories of` };
  const order = mapped.categories.map((c) => c.category);
  const unknown = categories.filter((c) => !order.includes(c));
  if (unknown.length > 0)
    return {
      ok: false,
      problem: `${variable} has no category ${unknown.map((c) => `"${c}"`).join(', ')} (it has ${order.join(', ')})`,
    };
  const chosen = new Set(categories);
  if (chosen.size < 2) return { ok: false, problem: `name at least two different categories of ${variable} to merge` };
  const positions = [...chosen].map((c) => order.indexOf(c)).sort((a, b) => a - b);
  const first = positions[0]!;
  const last = positions[positions.length - 1]!;
  if (last - first + 1 !== positions.length) {
    const between = order.slice(first, last + 1).filter((c) => !chosen.has(c));
    return {
      ok: false,
      problem: `only neighbouring categories of ${variable} can be merged: ${between.join(', ')} lies between them (the order is ${order.join(', ')})`,
    };
  }
  const merging = order.slice(first, last + 1);
  const name = merging.join('+');
  const mergedMapping: TargetMapping = {
    ...mapping,
    [variable]: {
      question: mapped.question,
      categories: [
        ...mapped.categories.slice(0, first),
        { category: name, codes: mapped.categories.slice(first, last + 1).flatMap((c) => c.codes) },
        ...mapped.categories.slice(last + 1),
      ],
    },
  };
  const merged: PopulationTarget[] = [];
  const byDistrict = new Map<string, PopulationTarget>();
  const joinDistinct = (a: string, b: string) => (a.split('; ').includes(b) ? a : `${a}; ${b}`);
  for (const target of targets) {
    if (target.variable !== variable || !chosen.has(target.category)) {
      merged.push(target);
      continue;
    }
    const sum = byDistrict.get(target.district);
    if (!sum) {
      const row = { ...target, category: name };
      byDistrict.set(target.district, row);
      merged.push(row);
    } else {
      sum.count += target.count;
      sum.basis = joinDistinct(sum.basis, target.basis);
      sum.source = joinDistinct(sum.source, target.source);
    }
  }
  return { ok: true, targets: merged, mapping: mergedMapping };
}
