// The SQLite reader thread of an export (see readInThread in read.ts): it
// runs the export's query on a read-only connection of its own and sends the
// rows packed as bytes (see PackedRows), while the thread that started it
// writes them as CSV: SQLite's sort and its rows made into values are about
// half the work of a CSV export, and here they run beside the other half.
// Plain JavaScript: it needs only better-sqlite3, and starts without tsx.
//
// Batches are sent as their memory (transferred, not copied) and come back
// when the other thread has written them: at most `window` are away at once.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

/** @type {{ path: string, sql: string, parameters: unknown[], cacheKib: number, batchBytes: number, window: number }} */
const { path, sql, parameters, cacheKib, batchBytes, window } = workerData;

if (!parentPort) throw new Error('sqlite-reader.mjs runs as a worker thread');
const port = parentPort;

/** @type {Buffer[]} */
const free = [];
let away = 0;
/** @type {(() => void) | undefined} */
let wake;
port.on('message', (/** @type {ArrayBuffer} */ memory) => {
  away--;
  if (memory.byteLength === batchBytes) free.push(Buffer.from(memory));
  wake?.();
  wake = undefined;
});

/** A batch's memory of at least `bytes`, once fewer than `window` are away. */
async function take(bytes) {
  while (away >= window) await new Promise((resolve) => (wake = resolve));
  if (bytes > batchBytes) return Buffer.allocUnsafeSlow(bytes);
  return free.pop() ?? Buffer.allocUnsafeSlow(batchBytes);
}

function send(batch, length) {
  away++;
  port.postMessage({ type: 'batch', memory: batch.buffer, length }, [batch.buffer]);
}

try {
  const db = new SQLite(path, { readonly: true, fileMustExist: true });
  db.pragma(`cache_size = -${cacheKib}`);
  const statement = db.prepare(sql).raw(true);
  let batch = await take(batchBytes);
  let at = 0;
  for (const row of statement.iterate(parameters)) {
    let most = 24;
    for (let i = 0; i < 6; i++) most += (row[i] ?? '').length * 3;
    if (at + most > batch.length) {
      if (at > 0) send(batch, at);
      batch = await take(most);
      at = 0;
    }
    for (let i = 0; i < 6; i++) {
      const value = row[i];
      const length = value === null ? 0 : batch.write(value, at + 4);
      batch.writeUInt32LE(length, at);
      at += 4 + length;
    }
  }
  if (at > 0) send(batch, at);
  db.close();
  port.postMessage({ type: 'done' });
} catch (error) {
  const e = error ?? {};
  port.postMessage({
    type: 'error',
    error: {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : String(error),
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
    },
  });
}
