import { describeSync } from '@local-first/contract';
import {
  combinationName,
  combinationSetup,
  STORAGES,
  type StorageName,
  TRANSPORTS,
  type TransportName,
} from '../src/combinations.js';

for (const storage of Object.keys(STORAGES) as StorageName[]) {
  for (const transport of Object.keys(TRANSPORTS) as TransportName[]) {
    describeSync(combinationName(storage, transport, 'store-sqlite'), () =>
      combinationSetup(storage, transport, 'store-sqlite'),
    );
  }
}
