/** An error as it crosses between threads: what the error page needs, and the stack for the log. */
export interface SentError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export function sendableError(error: unknown): SentError {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
  };
}

/** The error again on this side, with the same name, message and code, so the error pages treat it the same. */
export function receivedError(sent: SentError): Error {
  const error = Object.assign(new Error(sent.message), { name: sent.name }, sent.code ? { code: sent.code } : {});
  if (sent.stack) error.stack = sent.stack;
  return error;
}
