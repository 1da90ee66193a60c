import { describeSync } from '@local-first/contract';
import {
  combinationName,
  combinationSetup,
  STORAGES,
  type StorageName,
  WIRES,
  type WireName,
} from '../src/combinations.js';

// One file per server store, so the three run in parallel; nine combinations each: every
// storage with the WebSocket strategy over each transport, and with the periodic one over REST.
for (const storage of Object.keys(STORAGES) as StorageName[]) {
  for (const wire of Object.keys(WIRES) as WireName[]) {
    describeSync(combinationName(storage, wire, 'store-memory'), () =>
      combinationSetup(storage, wire, 'store-memory'),
    );
  }
}
