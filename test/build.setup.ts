import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// Vitest's global setup: builds what the tests serve and start before any file
// runs: the stylesheet, and the compiled server (`npm run build`, into dist/)
// that `npm start` runs and that test/http/instances.test.ts and the fault
// tests start as real processes. Run by every suite, so no test depends on a
// build left behind by an earlier command (a fresh clone has none).
export function setup() {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
}
