// Compiles public/scss/app.scss (GOV.UK Frontend styles with a council look and
// no GOV.UK font) into public/build/app.css. Run by `npm start` and `npm test`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sass from 'sass';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'public/build/app.css');
const result = sass.compile(join(root, 'public/scss/app.scss'), {
  style: 'compressed',
  importers: [new sass.NodePackageImporter()],
  quietDeps: true,
  silenceDeprecations: ['import'],
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, result.css);
