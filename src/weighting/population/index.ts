import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../../root.ts';

/** The population figures shipped with a survey (src/weighting/population/<slug>.csv), as CSV text, if any. */
export function shippedTargetsCsv(slug: string): string | undefined {
  // Read from the project folder, not beside this module: the compiled dist/ holds no CSV.
  const file = join(appRoot, 'src', 'weighting', 'population', `${slug}.csv`);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
