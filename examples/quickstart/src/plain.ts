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

await todos.upsert({ id: '1', title: 'Buy milk', done: false });
await todos.upsert({ id: '2', title: 'Call Ada', done: false });
await todos.upsert({ id: '1', title: 'Buy milk', done: true });
await todos.delete('2');

console.log('done:', await todos.query().where('done', '==', true).get());
console.log('waiting to sync:', (await todos.getPendingEvents()).length, 'events');
stop();
await client.dispose();
