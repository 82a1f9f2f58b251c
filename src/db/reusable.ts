import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';

/**
 * Kysely builds and compiles a query afresh on every call; the few queries of
 * every page save are compiled once per shape of their arguments (how many
 * rows, which keys, which are null) and engine, then run with each call's
 * values (bench/RESULTS.md has what that saves). The builder must use its
 * arguments only as values: it is run once with markers in their place, and
 * one that put a value into the SQL text, or branched on it, is refused.
 */

/** A value that stands for the i-th argument value while the query is compiled. */
const MARK = '\u0000soundings-value-';
const marker = (i: number) => `${MARK}${i}\u0000`;

/** Plans of more values than this are not kept (see reusable). */
const MAX_KEPT_VALUES = 512;

/** Where each parameter of the compiled SQL comes from: a value of the call (its index) or a constant. */
type Slot = number | { constant: unknown };
interface Plan {
  compiled: CompiledQuery<unknown>;
  slots: Slot[];
}

/** Anything Kysely-like that runs queries: a database or a transaction. */
type Runner = Kysely<any>;

/**
 * The shape of the arguments as a string (a plan's key), collecting their
 * values in order. Null and undefined are part of the shape, not values:
 * Kysely leaves an undefined key out of the SQL.
 */
function shapeOf(value: unknown, values: unknown[]): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    values.push(value);
    return 'v';
  }
  if (value === null) return 'n';
  if (value === undefined) return 'u';
  if (Array.isArray(value)) {
    let shape = '[';
    for (const item of value) shape += `${shapeOf(item, values)},`;
    return `${shape}]`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    // Keys are column names, which never hold \u0001: no two sets of keys give one shape.
    let shape = '{';
    for (const key of Object.keys(value))
      shape += `${key}\u0001${shapeOf((value as Record<string, unknown>)[key], values)}\u0001`;
    return `${shape}}`;
  }
  throw new TypeError(`a reusable query takes strings, numbers, null, arrays and plain objects, not ${typeof value}`);
}

/** The arguments with each value replaced by its marker, in the order shapeOf collects them. */
function withMarkers(value: unknown, next: { i: number }): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return marker(next.i++);
  if (Array.isArray(value)) return value.map((item) => withMarkers(item, next));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, withMarkers(v, next)]));
  return value;
}

function plan<A extends unknown[]>(db: Runner, build: (db: Runner, ...args: A) => Compilable, args: A, count: number) {
  const compiled = build(db, ...(withMarkers(args, { i: 0 }) as A)).compile();
  if (compiled.sql.includes(MARK)) throw new Error(`a reusable query put a value into its SQL: ${compiled.sql}`);
  const seen = new Set<number>();
  const slots: Slot[] = compiled.parameters.map((p) => {
    if (typeof p !== 'string' || !p.includes(MARK)) return { constant: p };
    const i = Number(p.slice(MARK.length, -1));
    if (!Number.isInteger(i) || p !== marker(i))
      throw new Error(`a reusable query changed one of its values before binding it: ${compiled.sql}`);
    seen.add(i);
    return i;
  });
  if (seen.size !== count) throw new Error(`a reusable query left out some of its values: ${compiled.sql}`);
  return { compiled, slots } satisfies Plan;
}

/**
 * Makes a query that compiles once per shape: `reusable((db, id: string) =>
 * db.selectFrom('responses').selectAll().where('id', '=', id))` returns a
 * function `(db, id) => Promise<QueryResult<row>>` that runs on a database or
 * a transaction.
 */
export function reusable<A extends unknown[], R>(
  build: (db: Runner, ...args: A) => Compilable<R>,
  /**
   * For a hot query with many values: names the arguments' shape and pushes
   * their values onto `values`, in the order shapeOf would and faster than
   * it can (it walks every value and builds a long key). Arguments it gives
   * one name must have one shape. Checked against shapeOf whenever a shape is
   * first compiled.
   */
  fastShape?: (values: unknown[], ...args: A) => string,
): (db: Runner, ...args: A) => Promise<QueryResult<R>> {
  // Per dialect adapter (one per database opened; its transactions share it), then per shape.
  const plans = new WeakMap<object, Map<string, Plan>>();
  return async (db, ...args) => {
    const values: unknown[] = [];
    const shape = fastShape ? fastShape(values, ...args) : shapeOf(args, values);
    const adapter = db.getExecutor().adapter;
    let byShape = plans.get(adapter);
    if (!byShape) {
      byShape = new Map();
      plans.set(adapter, byShape);
    }
    let found = byShape.get(shape);
    if (!found) {
      if (fastShape) {
        const expected: unknown[] = [];
        shapeOf(args, expected);
        if (expected.length !== values.length || expected.some((v, i) => v !== values[i]))
          throw new Error("a reusable query's fastShape gave other values than its arguments hold");
      }
      found = plan(db, build as (db: Runner, ...args: A) => Compilable, args, values.length);
      // Shapes are few (rows of one page, counts of one save). Bounds keep a bulk caller from filling memory:
      // a query of many values (a purge's or an import's count rows) is compiled afresh each time, its cost
      // small beside the statement's own.
      if (byShape.size < 1000 && values.length <= MAX_KEPT_VALUES) byShape.set(shape, found);
    }
    const parameters = found.slots.map((slot) => (typeof slot === 'number' ? values[slot] : slot.constant));
    return db.executeQuery({ ...found.compiled, parameters } as CompiledQuery<R>);
  };
}
