import { afterEach, beforeEach, describe } from 'vitest';
import { describeBatchMethods } from './batch.js';
import { describeClearRepository } from './clear-repository.js';
import { describeEvents } from './events.js';
import { StorageHarness, type StorageSetup } from './harness.js';
import { describeKeysAndUnicode } from './keys-unicode.js';
import { describeLifecycle } from './lifecycle.js';
import { describeNamespacesAndMeta } from './namespaces-meta.js';
import { describePersistence } from './persistence.js';
import { describeQueryOperators } from './query-operators.js';
import { describeQueryOrder } from './query-order.js';
import { describeRecords } from './records.js';
import { describeTransactions } from './transactions.js';

export type { StorageSetup };

/**
 * Registers the `StorageAdapter` conformance suite with vitest, titled
 * `StorageAdapter contract: <name>`. Call it at the top level of a test file.
 *
 * `setup` runs before every test and must return a new adapter over an empty backing store
 * that no other test shares, not yet opened: the suite calls `open()` itself and closes every
 * adapter it opened before calling `teardown`. Tests are skipped only by what
 * `adapter.capabilities` declares: with `persistent: true` the close-and-reopen tests run and
 * need `reopen` in the setup result; with `persistent: false` they are skipped.
 *
 * Tests use fixed fixtures only. Inside `transaction()` they touch the store only through the
 * `tx` they are given, never through the adapter.
 */
export function describeStorageAdapter(name: string, setup: () => Promise<StorageSetup>): void {
  const harness = new StorageHarness(name, setup);
  describe(`StorageAdapter contract: ${name}`, () => {
    beforeEach(() => harness.create());
    afterEach(() => harness.destroy());

    describeLifecycle(harness);
    describeRecords(harness);
    describeQueryOperators(harness);
    describeQueryOrder(harness);
    describeEvents(harness);
    describeTransactions(harness);
    describeBatchMethods(harness);
    describeClearRepository(harness);
    describeNamespacesAndMeta(harness);
    describeKeysAndUnicode(harness);
    describePersistence(harness);
  });
}
