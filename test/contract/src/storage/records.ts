import type { RecordData } from '@local-first/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { putAll, queryIds, record, spec, stamp, tombstone } from './fixtures.js';
import type { StorageHarness } from './harness.js';

/** Every kind of JSON value a record may hold, nested and at the top level. */
const RICH_DATA: RecordData = {
  text: 'plain',
  empty: '',
  zero: 0,
  negative: -42,
  decimal: 0.1,
  manyDigits: -1234.567890123,
  tiny: 1e-7,
  large: Number.MAX_SAFE_INTEGER,
  yes: true,
  no: false,
  nothing: null,
  list: [1, 'two', null, false, [3], { four: 4 }],
  emptyList: [],
  nested: { deeper: { deepest: ['x', { y: 'z' }] }, blank: {} },
  quotes: `it's "quoted" \\ back\nslash\ttab`,
};

/** Exactly 1 MiB of UTF-16 code units, with no run long enough to hide a truncation. */
function mebibyteText(): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < 1024 * 1024; i++) {
    const part = `${i.toString(36)}|`;
    parts.push(part);
    length += part.length;
  }
  return parts.join('').slice(0, 1024 * 1024);
}

export function describeRecords(harness: StorageHarness): void {
  describe('records', () => {
    beforeEach(() => harness.open());

    it('returns undefined for a record that was never written', async () => {
      expect(await harness.adapter.getRecord('tasks', 'missing')).toBeUndefined();
    });

    it('stores a record and reads it back with every field', async () => {
      const stored = record('task-1', { title: 'write the suite', done: false }, 7);
      await harness.adapter.putRecord('tasks', stored);
      expect(await harness.adapter.getRecord('tasks', 'task-1')).toEqual(stored);
    });

    it('round-trips every kind of JSON value exactly', async () => {
      const stored = record('rich', RICH_DATA);
      await harness.adapter.putRecord('tasks', stored);
      expect(await harness.adapter.getRecord('tasks', 'rich')).toStrictEqual(stored);
    });

    it('replaces the whole record on a second put, dropping fields that are gone', async () => {
      await harness.adapter.putRecord('tasks', record('task-1', { title: 'a', extra: 1 }, 1));
      const replacement = record('task-1', { title: 'b' }, 2);
      await harness.adapter.putRecord('tasks', replacement);
      expect(await harness.adapter.getRecord('tasks', 'task-1')).toStrictEqual(replacement);
    });

    it('stores a tombstone as data null and deleted true', async () => {
      await harness.adapter.putRecord('tasks', record('task-1', { title: 'a' }, 1));
      await harness.adapter.putRecord('tasks', tombstone('task-1', 2));
      expect(await harness.adapter.getRecord('tasks', 'task-1')).toStrictEqual({
        id: 'task-1',
        data: null,
        deleted: true,
        hlc: stamp(2),
        eventId: 'evt-task-1-2',
      });
    });

    it('lets a live record replace a tombstone (storage does not arbitrate stamps)', async () => {
      await harness.adapter.putRecord('tasks', tombstone('task-1', 2));
      const revived = record('task-1', { title: 'back' }, 3);
      await harness.adapter.putRecord('tasks', revived);
      expect(await harness.adapter.getRecord('tasks', 'task-1')).toStrictEqual(revived);
    });

    it('keeps nothing of a record object mutated after putRecord', async () => {
      const stored = record('task-1', { title: 'original', tags: ['a'], meta: { n: 1 } });
      const expected = structuredClone(stored);
      await harness.adapter.putRecord('tasks', stored);
      stored.hlc = stamp(99);
      stored.data!.title = 'mutated';
      (stored.data!.tags as string[]).push('b');
      (stored.data!.meta as { n: number }).n = 2;
      expect(await harness.adapter.getRecord('tasks', 'task-1')).toStrictEqual(expected);
    });

    it('returns copies from getRecord: mutating them changes nothing stored', async () => {
      // Compared against a second build, since the object written may be what got mutated.
      const stored = () => record('task-1', { title: 'original', tags: ['a'] });
      await harness.adapter.putRecord('tasks', stored());
      const first = (await harness.adapter.getRecord('tasks', 'task-1'))!;
      first.deleted = true;
      first.data!.title = 'mutated';
      (first.data!.tags as string[]).push('b');
      expect(await harness.adapter.getRecord('tasks', 'task-1')).toStrictEqual(stored());
    });

    it('returns copies from queryRecords: mutating them changes nothing stored', async () => {
      const stored = () => record('task-1', { title: 'original', tags: ['a'] });
      await harness.adapter.putRecord('tasks', stored());
      const [first] = await harness.adapter.queryRecords('tasks', spec());
      first!.data!.title = 'mutated';
      (first!.data!.tags as string[]).push('b');
      expect(await harness.adapter.queryRecords('tasks', spec())).toStrictEqual([stored()]);
    });

    it('keeps repositories apart: one id in two repositories is two records', async () => {
      const task = record('shared', { kind: 'task' });
      const note = record('shared', { kind: 'note' });
      await harness.adapter.putRecord('tasks', task);
      await harness.adapter.putRecord('notes', note);
      await putAll(harness.adapter, 'tasks', [record('only-task')]);
      expect(await harness.adapter.getRecord('tasks', 'shared')).toStrictEqual(task);
      expect(await harness.adapter.getRecord('notes', 'shared')).toStrictEqual(note);
      expect(await harness.adapter.getRecord('notes', 'only-task')).toBeUndefined();
      expect(await queryIds(harness.adapter, 'tasks', spec())).toEqual(['only-task', 'shared']);
      expect(await queryIds(harness.adapter, 'notes', spec())).toEqual(['shared']);
      expect(await queryIds(harness.adapter, 'never-used', spec())).toEqual([]);
    });

    it('keeps a tombstone in one repository from touching the same id in another', async () => {
      await harness.adapter.putRecord('tasks', record('shared', { kind: 'task' }));
      await harness.adapter.putRecord('notes', tombstone('shared'));
      expect((await harness.adapter.getRecord('tasks', 'shared'))?.deleted).toBe(false);
      expect(await queryIds(harness.adapter, 'tasks', spec())).toEqual(['shared']);
    });

    it('round-trips a 1 MiB record exactly', async () => {
      const text = mebibyteText();
      const big = record('big', { text, tail: 'end' });
      await harness.adapter.putRecord('blobs', big);
      const read = await harness.adapter.getRecord('blobs', 'big');
      expect(read?.data?.text).toHaveLength(1024 * 1024);
      // A plain equality check on two 1 MiB strings prints megabytes when it fails.
      expect(read?.data?.text === text).toBe(true);
      expect(read?.data?.tail).toBe('end');
      const [queried] = await harness.adapter.queryRecords('blobs', spec());
      expect(queried?.data?.text === text).toBe(true);
    });
  });
}
