import { ERROR_CODES, type StorageAdapter } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { event, expectCode, record, spec } from './fixtures.js';
import type { StorageHarness } from './harness.js';

/** One call of every operation of the contract, for checking that all of them are refused. */
function everyOperation(adapter: StorageAdapter): [string, () => Promise<unknown>][] {
  return [
    ['getRecord', () => adapter.getRecord('tasks', 'a')],
    ['queryRecords', () => adapter.queryRecords('tasks', spec())],
    ['getEvent', () => adapter.getEvent('e')],
    ['hasEvent', () => adapter.hasEvent('e')],
    ['getEvents', () => adapter.getEvents()],
    ['getMeta', () => adapter.getMeta('k')],
    ['putRecord', () => adapter.putRecord('tasks', record('a'))],
    ['appendEvent', () => adapter.appendEvent(event('e'))],
    ['setEventStatus', () => adapter.setEventStatus(['e'], 'ok')],
    ['setMeta', () => adapter.setMeta('k', 'v')],
    ['useNamespace', () => adapter.useNamespace('other')],
    ['transaction', () => adapter.transaction(async () => 'ran')],
  ];
}

export function describeLifecycle(harness: StorageHarness): void {
  describe('open and close', () => {
    it('refuses calls before open() with not_initialized, then works once opened', async () => {
      await expectCode(harness.adapter.getMeta('k'), ERROR_CODES.notInitialized);
      await expectCode(harness.adapter.putRecord('tasks', record('a')), ERROR_CODES.notInitialized);
      await harness.open();
      await harness.adapter.putRecord('tasks', record('a'));
      expect(await harness.adapter.getRecord('tasks', 'a')).toStrictEqual(record('a'));
    });

    it('refuses every operation after close() with closed', async () => {
      const adapter = await harness.open();
      await adapter.putRecord('tasks', record('a'));
      await harness.close();
      for (const [name, call] of everyOperation(adapter)) {
        await expectCode(call(), ERROR_CODES.closed).catch((error: unknown) => {
          throw new Error(`${name} after close()`, { cause: error });
        });
      }
    });

    it('refuses calls made while close() is still under way', async () => {
      const adapter = await harness.open();
      const closing = harness.close();
      // allSettled takes the rejections at once, so none is reported as unhandled meanwhile.
      const operations = everyOperation(adapter);
      const late = Promise.allSettled(operations.map(([, call]) => call()));
      await closing;
      const outcomes = (await late).map((outcome, index) => [
        operations[index]![0],
        outcome.status === 'rejected' ? outcome.reason : 'fulfilled',
      ]);
      expect(outcomes).toEqual(
        operations.map(([name]) => [
          name,
          expect.objectContaining({ name: 'LocalFirstError', code: ERROR_CODES.closed }),
        ]),
      );
    });

    it('refuses open() after close() with closed: a closed adapter stays closed', async () => {
      const adapter = await harness.open();
      await harness.close();
      await expectCode(adapter.open(), ERROR_CODES.closed);
      await expectCode(adapter.getMeta('k'), ERROR_CODES.closed);
    });

    it('a close() made while open() is under way leaves the adapter closed', async () => {
      const adapter = harness.adapter;
      // open() may finish first or give up with closed; either way close() wins.
      const opening = adapter.open().then(
        () => 'opened',
        (error: unknown) => error,
      );
      await harness.close();
      const opened = await opening;
      if (opened !== 'opened') {
        expect(opened).toMatchObject({ name: 'LocalFirstError', code: ERROR_CODES.closed });
      }
      await expectCode(adapter.getMeta('k'), ERROR_CODES.closed);
      await expectCode(adapter.putRecord('tasks', record('a')), ERROR_CODES.closed);
    });

    it('lets calls made before close() finish normally', async () => {
      const adapter = await harness.open();
      const write = adapter.putRecord('tasks', record('a'));
      const append = adapter.appendEvent(event('e'));
      const meta = adapter.setMeta('k', 'v');
      const read = adapter.getMeta('missing');
      const work = adapter.transaction(async (tx) => {
        await tx.putRecord('tasks', record('b'));
        return 'committed';
      });
      const settled = Promise.allSettled([write, append, meta, read, work]);
      await harness.close();
      expect(await settled).toEqual(
        [undefined, undefined, undefined, undefined, 'committed'].map((value) => ({
          status: 'fulfilled',
          value,
        })),
      );
    });
  });
}
