export {
  type ChannelLike,
  type LockManagerLike,
  TabLeadership,
  type TabLeadershipOptions,
} from './leadership.js';
export { IndexedDbLease, type LeaseStore } from './lease.js';
export { TabStorageAdapter, type TabStorageOptions } from './tab-storage.js';
export {
  type AggregateState,
  type ConnectionSignal,
  type LeadingStore,
  type SyncedClient,
  TabSync,
  type TabSyncOptions,
} from './tab-sync.js';
