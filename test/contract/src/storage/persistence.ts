import { DEFAULT_NAMESPACE, ERROR_CODES } from '@local-first/core';
import { beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { event, eventIds, expectCode, record, rejection, spec, tombstone } from './fixtures.js';
import type { StorageHarness } from './harness.js';

const ALL = spec([], [], { includeDeleted: true });

export function describePersistence(harness: StorageHarness): void {
  describe('persistence across close and reopen', () => {
    beforeEach(() => harness.open());

    /**
     * Capabilities belong to the adapter that setup() returns for this test, so the skip is
     * decided here, at run time, rather than when the tests are collected.
     */
    function onlyWhenPersistent(context: TestContext): void {
      if (!harness.adapter.capabilities.persistent) {
        context.skip('the adapter declares capabilities.persistent = false');
      }
      harness.requireReopen();
    }

    it('keeps records and tombstones', async (context) => {
      onlyWhenPersistent(context);
      await harness.adapter.putRecord('tasks', record('a', { title: 'kept', n: -1.5 }));
      await harness.adapter.putRecord('tasks', tombstone('b'));
      await harness.adapter.putRecord('notes', record('a', { title: 'note' }));
      const adapter = await harness.reopen();
      expect(await adapter.queryRecords('tasks', ALL)).toStrictEqual([
        record('a', { title: 'kept', n: -1.5 }),
        tombstone('b'),
      ]);
      expect(await adapter.getRecord('notes', 'a')).toStrictEqual(record('a', { title: 'note' }));
    });

    it('keeps events with their statuses and their append order', async (context) => {
      onlyWhenPersistent(context);
      const log = [event('e-2'), event('e-0', { local: false, serverSequence: 4 }), event('e-1')];
      for (const item of log) await harness.adapter.appendEvent(item);
      await harness.adapter.setEventStatus(['e-0'], 'ok');
      await harness.adapter.setEventStatus(['e-1'], 'failed');
      const adapter = await harness.reopen();
      expect(await adapter.getEvents()).toStrictEqual([
        log[0],
        { ...log[1], syncStatus: 'ok' },
        { ...log[2], syncStatus: 'failed' },
      ]);
      expect(eventIds(await adapter.getEvents({ status: 'pending' }))).toEqual(['e-2']);
      expect(await adapter.hasEvent('e-0')).toBe(true);
      await expectCode(adapter.appendEvent(event('e-0')), ERROR_CODES.duplicateEvent);
      await adapter.appendEvent(event('e-00'));
      expect(eventIds(await adapter.getEvents())).toEqual(['e-2', 'e-0', 'e-1', 'e-00']);
    });

    it('keeps meta values and removals', async (context) => {
      onlyWhenPersistent(context);
      await harness.adapter.setMeta('cursor', '42');
      await harness.adapter.setMeta('empty', '');
      await harness.adapter.setMeta('removed', 'x');
      await harness.adapter.setMeta('removed', undefined);
      const adapter = await harness.reopen();
      expect(await adapter.getMeta('cursor')).toBe('42');
      expect(await adapter.getMeta('empty')).toBe('');
      expect(await adapter.getMeta('removed')).toBeUndefined();
    });

    it('keeps every namespace, and starts again in the default one', async (context) => {
      onlyWhenPersistent(context);
      await harness.adapter.putRecord('tasks', record('a', { owner: 'default' }));
      await harness.adapter.useNamespace('alice');
      await harness.adapter.putRecord('tasks', record('a', { owner: 'alice' }));
      await harness.adapter.appendEvent(event('e-alice'));
      await harness.adapter.setMeta('cursor', 'alice');
      const adapter = await harness.reopen();
      expect(adapter.namespace).toBe(DEFAULT_NAMESPACE);
      expect((await adapter.getRecord('tasks', 'a'))?.data?.owner).toBe('default');
      expect(await adapter.hasEvent('e-alice')).toBe(false);
      await adapter.useNamespace('alice');
      expect((await adapter.getRecord('tasks', 'a'))?.data?.owner).toBe('alice');
      expect(eventIds(await adapter.getEvents())).toEqual(['e-alice']);
      expect(await adapter.getMeta('cursor')).toBe('alice');
    });

    it('keeps a committed transaction and nothing of a rolled-back one', async (context) => {
      onlyWhenPersistent(context);
      await harness.adapter.transaction(async (tx) => {
        await tx.putRecord('tasks', record('committed'));
        await tx.appendEvent(event('e-committed'));
        await tx.setMeta('cursor', '1');
      });
      await rejection(
        harness.adapter.transaction(async (tx) => {
          await tx.putRecord('tasks', record('rolled-back'));
          await tx.appendEvent(event('e-rolled-back'));
          await tx.setEventStatus(['e-committed'], 'ok');
          await tx.setMeta('cursor', '2');
          throw new Error('abort');
        }),
      );
      const adapter = await harness.reopen();
      expect((await adapter.queryRecords('tasks', ALL)).map((item) => item.id)).toEqual([
        'committed',
      ]);
      expect(await adapter.getEvents()).toStrictEqual([event('e-committed')]);
      expect(await adapter.getMeta('cursor')).toBe('1');
    });

    it('keeps writes that were called just before close()', async (context) => {
      onlyWhenPersistent(context);
      const writes = Promise.allSettled([
        harness.adapter.putRecord('tasks', record('last')),
        harness.adapter.appendEvent(event('e-last')),
        harness.adapter.setMeta('cursor', 'last'),
      ]);
      const adapter = await harness.reopen();
      expect((await writes).map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ]);
      expect(await adapter.getRecord('tasks', 'last')).toStrictEqual(record('last'));
      expect(await adapter.hasEvent('e-last')).toBe(true);
      expect(await adapter.getMeta('cursor')).toBe('last');
    });

    it('round-trips a 1 MiB record and unicode names through a restart', async (context) => {
      onlyWhenPersistent(context);
      const text = '\u{1F600}\u00e9\u65E5\u05E9xyz'.repeat((1024 * 1024) / 8);
      await harness.adapter.putRecord('\u65E5\u672C', record('\u{1F600}', { text }));
      const adapter = await harness.reopen();
      const found = await adapter.getRecord('\u65E5\u672C', '\u{1F600}');
      expect(found?.data?.text === text).toBe(true);
    });
  });
}
