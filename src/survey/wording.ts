import { DefinitionError, defineSurvey, type Survey } from './definition.ts';
import { documentOf } from './document.ts';
import { fromLondonTime, toLondonTime } from './schedule.ts';

// The wording editor's form: every text a resident reads, as fields named by
// where they sit in the document. Applying the form changes only those texts
// (and the dates): codes, routing and pages change through the JSON document.

type Path = (string | number)[];

export interface WordingField {
  /** The form field's name and the input's id. */
  name: string;
  label: string;
  kind: 'text' | 'paragraphs' | 'datetime';
  /** Left empty, an optional text is taken out of the definition (a page then uses its question as heading…). */
  optional: boolean;
  value: string;
  path: Path;
}

export interface WordingSection {
  heading: string;
  fields: WordingField[];
}

const get = (doc: unknown, path: Path): unknown =>
  path.reduce<unknown>((at, key) => (at as Record<string | number, unknown> | undefined)?.[key], doc);

function field(
  doc: unknown,
  name: string,
  label: string,
  path: Path,
  kind: WordingField['kind'] = 'text',
  optional = false,
): WordingField {
  const value = get(doc, path);
  const shown =
    kind === 'paragraphs'
      ? ((value as string[] | undefined) ?? []).join('\n\n')
      : kind === 'datetime'
        ? value
          ? toLondonTime(new Date(value as string))
          : ''
        : ((value as string | undefined) ?? '');
  return { name, label, kind, optional, value: shown, path };
}

/** The editor's fields of a survey, in sections: the survey, its channels, then each page. */
export function wordingSections(survey: Survey): WordingSection[] {
  const doc = documentOf(survey) as {
    pages: {
      id: string;
      questions: { id: string; type: string; options?: { code: string }[]; preferNotToSay?: unknown }[];
    }[];
    channels: { code: string }[];
  };
  const sections: WordingSection[] = [
    {
      heading: 'The survey',
      fields: [
        field(doc, 'title', 'Title', ['title']),
        field(doc, 'owner', 'Who runs it', ['owner']),
        field(doc, 'intro', 'Introduction on the start page', ['intro'], 'paragraphs'),
        field(
          doc,
          'shareSummary',
          'Social preview text (under the title where a link is shared)',
          ['shareSummary'],
          'text',
          true,
        ),
        field(doc, 'thankYou', 'Thank-you text', ['thankYou'], 'paragraphs'),
        field(doc, 'opensAt', 'Opens (UK time)', ['opensAt'], 'datetime', true),
        field(doc, 'closesAt', 'Closes (UK time)', ['closesAt'], 'datetime', true),
      ],
    },
  ];
  if (doc.channels.length)
    sections.push({
      heading: 'Channels',
      fields: doc.channels.map((c, i) => field(doc, `channel-${i}`, `Channel “${c.code}”`, ['channels', i, 'label'])),
    });
  doc.pages.forEach((page, i) => {
    const at = ['pages', i];
    const fields = [
      field(doc, `p${i}-title`, 'Page heading', [...at, 'title'], 'text', true),
      field(doc, `p${i}-section`, 'Section', [...at, 'section'], 'text', true),
      field(doc, `p${i}-intro`, 'Page introduction', [...at, 'intro'], 'paragraphs', true),
    ];
    page.questions.forEach((question, j) => {
      const q = [...at, 'questions', j];
      const name = `p${i}-q${j}`;
      fields.push(
        field(doc, `${name}-label`, `Question “${question.id}”: wording`, [...q, 'label']),
        field(doc, `${name}-heading`, `Question “${question.id}”: short heading`, [...q, 'heading'], 'text', true),
        field(doc, `${name}-hint`, `Question “${question.id}”: hint`, [...q, 'hint'], 'text', true),
      );
      for (const [k, option] of (question.options ?? []).entries())
        fields.push(field(doc, `${name}-o${k}`, `Option “${option.code}”`, [...q, 'options', k, 'label']));
      if (question.preferNotToSay)
        fields.push(
          field(doc, `${name}-prefer`, `Question “${question.id}”: the “prefer not to say” choice`, [
            ...q,
            'preferNotToSay',
            'label',
          ]),
        );
    });
    sections.push({ heading: `Page “${page.id}”`, fields });
  });
  return sections;
}

export type WordingResult =
  | { ok: true; survey: Survey }
  | { ok: false; errors: { field: string; message: string }[]; values: Record<string, string> };

/**
 * The survey with the form's wording: each field empty where required, or a
 * date that is not one, is an error beside it; the definition's own checks
 * (a closing date before the opening one, say) are listed too. Nothing else changes.
 */
export function applyWording(survey: Survey, body: Record<string, string | undefined>): WordingResult {
  const doc = structuredClone(documentOf(survey));
  const errors: { field: string; message: string }[] = [];
  const values: Record<string, string> = {};
  for (const section of wordingSections(survey)) {
    for (const f of section.fields) {
      const sent = body[f.name];
      // A field the form did not send is left as it is: only a field sent empty is taken as emptied.
      if (sent === undefined) {
        values[f.name] = f.value;
        continue;
      }
      const raw = sent.replace(/\r\n/g, '\n');
      values[f.name] = raw;
      const text = raw.trim();
      const parent = get(doc, f.path.slice(0, -1)) as Record<string | number, unknown>;
      const key = f.path[f.path.length - 1] as string | number;
      if (!text) {
        if (f.optional) delete parent[key];
        else
          errors.push({
            field: f.name,
            message: `${f.label} cannot be empty`,
          });
        continue;
      }
      if (f.kind === 'paragraphs')
        parent[key] = text
          .split(/\n\s*\n/)
          .map((p) => p.replace(/\s+/g, ' ').trim())
          .filter(Boolean);
      else if (f.kind === 'datetime') {
        const at = fromLondonTime(text);
        if (!at)
          errors.push({
            field: f.name,
            message: `${f.label.replace(' (UK time)', '')} must be a date and time, like 2020-02-17T09:00`,
          });
        else parent[key] = at.toISOString();
      } else parent[key] = text.replace(/\s+/g, ' ');
    }
  }
  if (errors.length) return { ok: false, errors, values };
  try {
    return { ok: true, survey: defineSurvey(doc) };
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err;
    return {
      ok: false,
      errors: err.problems.map((message) => ({
        field: message.startsWith('closesAt') ? 'closesAt' : 'title',
        message,
      })),
      values,
    };
  }
}
