// The entry of an export's worker thread (see in-worker.ts). Node 20 does not
// pass the main thread's loader hooks on to a worker, and a worker's
// `--import tsx` comes too late for its first module, so this plain module
// registers tsx here, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./export-worker.ts');
