import {
  createLocalFirstContainer,
  localFirstClientModule,
  Repository,
  repositoriesModule,
  resolveClient,
} from '@local-first/core';
import { memoryStorageModule } from '@local-first/storage-memory';

interface Note {
  id: string;
  text: string;
}

const notes = new Repository<Note>({ name: 'notes' });
const container = createLocalFirstContainer(
  memoryStorageModule(),
  repositoriesModule(notes),
  localFirstClientModule(),
);
const client = resolveClient(container);
await client.initialize();

await notes.upsert({ id: 'n1', text: 'Resolved from the container' });
console.log('notes:', await notes.query().get());
console.log('storage adapter:', client.storage.name);
await client.dispose();
