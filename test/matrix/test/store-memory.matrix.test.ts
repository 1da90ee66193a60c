import { describeSync } from '@local-first/contract';
import {
  combinationName,
  combinationSetup,
  STORAGES,
  type StorageName,
  TRANSPORTS,
  type TransportName,
} from '../src/combinations.js';

// One file per server store, so the three run in parallel; six combinations each.
for (const storage of Object.keys(STORAGES) as StorageName[]) {
  for (const transport of Object.keys(TRANSPORTS) as TransportName[]) {
    describeSync(combinationName(storage, transport, 'store-memory'), () =>
      combinationSetup(storage, transport, 'store-memory'),
    );
  }
}
