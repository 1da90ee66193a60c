import { DEFAULT_NAMESPACE } from '@local-first/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { event, eventIds, queryIds, record, spec } from './fixtures.js';
import type { StorageHarness } from './harness.js';

export function describeNamespacesAndMeta(harness: StorageHarness): void {
  describe('meta', () => {
    beforeEach(() => harness.open());

    it('returns undefined for a key that was never set', async () => {
      expect(await harness.adapter.getMeta('cursor')).toBeUndefined();
    });

    it('sets, overwrites and removes a value with undefined', async () => {
      await harness.adapter.setMeta('cursor', '1');
      expect(await harness.adapter.getMeta('cursor')).toBe('1');
      await harness.adapter.setMeta('cursor', '2');
      expect(await harness.adapter.getMeta('cursor')).toBe('2');
      await harness.adapter.setMeta('cursor', undefined);
      expect(await harness.adapter.getMeta('cursor')).toBeUndefined();
      await harness.adapter.setMeta('cursor', '3');
      expect(await harness.adapter.getMeta('cursor')).toBe('3');
    });

    it('keeps an empty string as a value, distinct from no value', async () => {
      await harness.adapter.setMeta('empty', '');
      expect(await harness.adapter.getMeta('empty')).toBe('');
    });

    it('removes a key that was never set without complaint', async () => {
      await harness.adapter.setMeta('never', undefined);
      expect(await harness.adapter.getMeta('never')).toBeUndefined();
    });

    it('keeps values byte for byte, JSON text and newlines included', async () => {
      const value = '{"wall":1700000000000,"counter":3}\n\t  trailing space ';
      await harness.adapter.setMeta('clock', value);
      expect(await harness.adapter.getMeta('clock')).toBe(value);
    });

    it('keeps meta apart from records and events', async () => {
      await harness.adapter.setMeta('tasks', 'meta');
      await harness.adapter.putRecord('tasks', record('tasks'));
      await harness.adapter.appendEvent(event('tasks'));
      expect(await harness.adapter.getMeta('tasks')).toBe('meta');
      await harness.adapter.setMeta('tasks', undefined);
      expect(await harness.adapter.getRecord('tasks', 'tasks')).toStrictEqual(record('tasks'));
      expect(await harness.adapter.hasEvent('tasks')).toBe(true);
    });
  });

  describe('namespaces', () => {
    beforeEach(() => harness.open());

    /** Writes one record, one event and one meta value tagged with `tag`. */
    async function fill(tag: string): Promise<void> {
      await harness.adapter.putRecord('tasks', record('shared', { owner: tag }));
      await harness.adapter.putRecord('tasks', record(`only-${tag}`));
      await harness.adapter.appendEvent(event('shared-event', { dataId: tag }));
      await harness.adapter.appendEvent(event(`event-${tag}`));
      await harness.adapter.setMeta('cursor', tag);
    }

    async function expectFilledBy(tag: string): Promise<void> {
      expect(harness.adapter.namespace).toBe(tag);
      expect((await harness.adapter.getRecord('tasks', 'shared'))?.data?.owner).toBe(tag);
      expect(await queryIds(harness.adapter, 'tasks', spec())).toEqual([`only-${tag}`, 'shared']);
      expect((await harness.adapter.getEvent('shared-event'))?.dataId).toBe(tag);
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['shared-event', `event-${tag}`]);
      expect(await harness.adapter.getMeta('cursor')).toBe(tag);
    }

    it(`starts in "${DEFAULT_NAMESPACE}"`, () => {
      expect(harness.adapter.namespace).toBe(DEFAULT_NAMESPACE);
    });

    it('reports the namespace it switched to', async () => {
      await harness.adapter.useNamespace('alice');
      expect(harness.adapter.namespace).toBe('alice');
      await harness.adapter.useNamespace(DEFAULT_NAMESPACE);
      expect(harness.adapter.namespace).toBe(DEFAULT_NAMESPACE);
    });

    it('starts a new namespace empty', async () => {
      await fill(DEFAULT_NAMESPACE);
      await harness.adapter.useNamespace('alice');
      expect(await harness.adapter.getRecord('tasks', 'shared')).toBeUndefined();
      expect(
        await queryIds(harness.adapter, 'tasks', spec([], [], { includeDeleted: true })),
      ).toEqual([]);
      expect(await harness.adapter.getEvent('shared-event')).toBeUndefined();
      expect(await harness.adapter.hasEvent('shared-event')).toBe(false);
      expect(await harness.adapter.getEvents()).toEqual([]);
      expect(await harness.adapter.getMeta('cursor')).toBeUndefined();
    });

    it('keeps records, events and meta of each namespace apart, and finds them again', async () => {
      await fill(DEFAULT_NAMESPACE);
      await harness.adapter.useNamespace('alice');
      await fill('alice');
      await harness.adapter.useNamespace('bob');
      await fill('bob');
      await harness.adapter.setEventStatus(['shared-event'], 'ok');

      await harness.adapter.useNamespace('alice');
      await expectFilledBy('alice');
      expect((await harness.adapter.getEvent('shared-event'))?.syncStatus).toBe('pending');
      await harness.adapter.useNamespace(DEFAULT_NAMESPACE);
      await expectFilledBy(DEFAULT_NAMESPACE);
      await harness.adapter.useNamespace('bob');
      await expectFilledBy('bob');
      expect((await harness.adapter.getEvent('shared-event'))?.syncStatus).toBe('ok');
    });

    it('keeps data when switching to the namespace already in use', async () => {
      await harness.adapter.useNamespace('alice');
      await fill('alice');
      await harness.adapter.useNamespace('alice');
      await expectFilledBy('alice');
    });

    it('runs transactions in the current namespace', async () => {
      await harness.adapter.useNamespace('alice');
      await harness.adapter.transaction(async (tx) => {
        await tx.putRecord('tasks', record('in-tx'));
        await tx.setMeta('cursor', 'alice-tx');
      });
      await harness.adapter.useNamespace('bob');
      expect(await harness.adapter.getRecord('tasks', 'in-tx')).toBeUndefined();
      expect(await harness.adapter.getMeta('cursor')).toBeUndefined();
      await harness.adapter.useNamespace('alice');
      expect(await harness.adapter.getMeta('cursor')).toBe('alice-tx');
    });
  });
}
