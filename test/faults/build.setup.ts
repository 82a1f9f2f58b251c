import { buildServer } from '../build.ts';

// The fault tests start the compiled server and CLI as real processes: built once, before any file runs.
export function setup() {
  buildServer();
}
