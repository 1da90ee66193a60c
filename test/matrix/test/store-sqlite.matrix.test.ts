import { describeSync } from '@local-first/contract';
import {
  combinationName,
  combinationSetup,
  STORAGES,
  type StorageName,
  WIRES,
  type WireName,
} from '../src/combinations.js';

for (const storage of Object.keys(STORAGES) as StorageName[]) {
  for (const wire of Object.keys(WIRES) as WireName[]) {
    describeSync(combinationName(storage, wire, 'store-sqlite'), () =>
      combinationSetup(storage, wire, 'store-sqlite'),
    );
  }
}
