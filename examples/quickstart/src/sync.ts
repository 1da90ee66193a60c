import { LocalFirstClient, Repository } from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import WebSocket from 'ws';

interface Todo {
  id: string;
  title: string;
  done: boolean;
}

const websocketUrl = process.env.SYNC_URL ?? 'ws://127.0.0.1:8080/sync';

/** One device: its own storage, the todos repository, and a WebSocket strategy. */
async function device(name: string) {
  const todos = new Repository<Todo>({ name: 'todos' });
  const sync = new WebSocketSyncStrategy({
    websocketUrl,
    transport: new WsTransport({ WebSocket }),
    authToken: process.env.SYNC_TOKEN,
  });
  sync.connectionChanges.subscribe((connected) =>
    console.log(`${name}:`, connected ? 'connected' : 'offline'),
  );
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [sync],
  });
  await client.initialize();
  await client.start();
  return { client, todos };
}

const laptop = await device('laptop');
const phone = await device('phone');

const id = `todo-${Date.now()}`;
const arrived = new Promise<void>((resolve) => {
  phone.todos
    .query()
    .where('id', '==', id)
    .watch()
    .subscribe((items) => {
      if (items.length === 0) return;
      console.log('phone sees:', items[0]);
      resolve();
    });
});
await laptop.todos.upsert({ id, title: 'Written on the laptop', done: false });
await arrived;

await laptop.client.dispose();
await phone.client.dispose();
