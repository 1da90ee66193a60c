import { LocalFirstClient, Repository } from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';

interface Todo {
  id: string;
  title: string;
  done: boolean;
}

const todos = new Repository<Todo>({ name: 'todos' });
const client = new LocalFirstClient({
  repositories: [todos],
  localStorage: new MemoryStorageAdapter(),
  syncStrategies: [],
});
await client.initialize();

const open = todos.query().where('done', '==', false).orderBy('title').watch();
const stop = open.subscribe((items) =>
  console.log(
    'open todos:',
    items.map((t) => t.title),
  ),
);

// Two records in one transaction: one commit, one emission of the watch.
await todos.upsertMany([
  { id: '1', title: 'Buy milk', done: false },
  { id: '2', title: 'Call Ada', done: false },
]);
// A watch emits after the task that committed; a script lets it before going on.
await client.settled();
await todos.upsert({ id: '1', title: 'Buy milk', done: true });
await todos.delete('2');
await client.settled();

console.log('done:', await todos.query().where('done', '==', true).get());
console.log('waiting to sync:', client.pendingCount.value, 'events');
stop();
await client.dispose();
