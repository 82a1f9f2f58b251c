// The export worker's module when the app runs as TypeScript (tsx, the
// tests): Node 20 does not pass the main thread's loader hooks on to a
// worker, so this plain module registers tsx, then loads the task.
import { register } from 'tsx/esm/api';

register();
export default (await import('./worker.ts')).default;
