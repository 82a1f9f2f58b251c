import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Compiles the stylesheet (public/build/app.css), which pages link and the browser tests lay out with. */
export function buildCss() {
  execFileSync('npm', ['run', '-s', 'build:css'], { cwd: root, stdio: 'inherit' });
}

/**
 * Builds what `npm start` runs (`npm run build`, into dist/): for the tests
 * that start the compiled server or CLI as real processes, so none depends on
 * a build left behind by an earlier command (a fresh clone has none).
 */
export function buildServer() {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
}
