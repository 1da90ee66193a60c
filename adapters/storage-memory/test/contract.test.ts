import { describeStorageAdapter } from '@local-first/contract';
import { MemoryStorageAdapter } from '../src/index.js';

describeStorageAdapter('memory', async () => ({
  adapter: new MemoryStorageAdapter(),
  teardown: async () => {},
}));
