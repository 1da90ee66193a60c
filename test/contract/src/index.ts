export {
  describeEventStore,
  type EventStoreFixture,
  type EventStoreSetup,
  type EventStoreSetupContext,
} from './event-store/index.js';
export { describeFanout, type FanoutFixture, type FanoutSetup } from './fanout/index.js';
export { describeStorageAdapter, type StorageSetup } from './storage/index.js';
export {
  CountingFetch,
  CountingTransport,
  describeSync,
  drained,
  type RefreshableStrategy,
  type RequestRecord,
  type RestSyncSetup,
  type SentMessage,
  SYNC_TEST_TIMEOUT_MS,
  SYNC_WAIT_MS,
  type SyncFetch,
  type SyncSetup,
  type SyncSetupBase,
  until,
  type WebSocketSyncSetup,
  type WireCounter,
} from './sync/index.js';
export { describeTransport, type RawPeer, type TransportSetup } from './transport/index.js';
