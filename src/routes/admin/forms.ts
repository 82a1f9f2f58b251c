/** A message for the error summary and beside the field (`field` is the input's id). */
export interface FieldError {
  field: string;
  message: string;
}

/** The single-valued text fields of a web form; a field sent twice (or not as text) counts as missing. */
export function formFields(body: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string') out[name] = value;
  return out;
}

/** The error for one field, for the template. */
export function errorFor(errors: FieldError[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) out[e.field] ??= e.message;
  return out;
}
