import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../../root.ts';

export { CSP_2019_POPULATION_CAVEATS } from './caveats.ts';

/** The shipped population figures for csp-2019, as CSV text for parseTargets. */
export function csp2019PopulationCsv(): string {
  // Read from the project folder, not beside this module: the compiled dist/ holds no CSV.
  return readFileSync(join(appRoot, 'src', 'weighting', 'population', 'csp-2019.csv'), 'utf8');
}
