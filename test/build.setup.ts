import { buildCss } from './build.ts';

// Vitest's global setup for `npm test`: the stylesheet only. The few files
// that start the compiled server build it themselves (buildServer in
// build.ts), so `vitest run test/unit` takes seconds.
export function setup() {
  buildCss();
}
