import { describeStorageAdapter } from '@local-first/contract';
import { MemoryStorageAdapter } from '../src/index.js';

// Nothing to release: a setup may leave `teardown` out.
describeStorageAdapter('memory', async () => ({ adapter: new MemoryStorageAdapter() }));
