import { describeFanout } from '@local-first/contract';
import { type MemoryFanout, MemoryFanoutHub } from '../src/index.js';

describeFanout('MemoryFanout', async () => {
  // The suite's throwing listener is expected; other errors would fail a test anyway.
  const hub = new MemoryFanoutHub({ onListenerError: () => {} });
  return {
    node: async () => hub.node(),
    interrupt: async (fanout) => hub.interrupt(fanout as MemoryFanout),
    teardown: async () => {},
  };
});
