export { describeEventStore, type EventStoreSetup } from './event-store/index.js';
export { describeFanout, type FanoutFixture, type FanoutSetup } from './fanout/index.js';
export { describeStorageAdapter, type StorageSetup } from './storage/index.js';
export { describeSync, type RefreshableStrategy, type SyncSetup } from './sync/index.js';
export { describeTransport, type RawPeer, type TransportSetup } from './transport/index.js';
