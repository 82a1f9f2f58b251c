// The bare baseline: Fastify, @fastify/formbody and better-sqlite3 inserting
// one row per POST, with no templates, validation or drafts. Every product
// figure is reported beside this one, measured in the same run.
// SYNCHRONOUS=FULL (the default) fsyncs each insert before answering, as a
// durable bare server must; SYNCHRONOUS=NORMAL does not fsync at all (not
// durable: the bare CPU ceiling).

import formbody from '@fastify/formbody';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const path = process.env.DATABASE_URL ?? ':memory:';
const db = new Database(path);
db.pragma('journal_mode = WAL');
const synchronous = process.env.SYNCHRONOUS === 'NORMAL' ? 'NORMAL' : 'FULL';
db.pragma(`synchronous = ${synchronous}`);
db.exec('create table if not exists answers (id integer primary key, body text not null)');
const insert = db.prepare('insert into answers (body) values (?)');

const app = Fastify({ logger: false });
await app.register(formbody);
app.post('/submit', async (request, reply) => {
  insert.run(JSON.stringify(request.body));
  return reply.code(303).header('location', '/thanks').send();
});
await app.listen({ port: Number(process.env.PORT ?? 3990), host: '127.0.0.1' });
process.stdout.write('listening\n');
