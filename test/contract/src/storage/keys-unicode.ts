import { beforeEach, describe, expect, it } from 'vitest';
import { event, eventIds, queryIds, record, spec } from './fixtures.js';
import type { StorageHarness } from './harness.js';

/**
 * Names that collide when an adapter joins keys with a separator, matches prefixes, uses SQL
 * LIKE patterns or quotes badly, or keeps keys in a plain object. NUL is left out: the contract
 * does not promise it, and C-string based backends cannot hold it.
 */
const TRICKY_NAMES = [
  'a',
  'ab',
  'a:b',
  'a::b',
  'a/b',
  'a.b',
  'a|b',
  'a b',
  'a%',
  'a_',
  'a*',
  "a'b",
  'a"b',
  'a\\b',
  'a\nb',
  'A',
  'constructor',
  '__proto__',
  'toString',
];

/** Text that breaks adapters which normalise, case-fold, or mis-count UTF-16. */
const UNICODE_NAMES = [
  '\u{1F600}',
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  '\u65E5\u672C\u8A9E',
  '\uD55C\uAD6D\uC5B4',
  '\u00e9',
  'e\u0301',
  '\u05E9\u05DC\u05D5\u05DD',
  '\u0645\u0631\u062D\u0628\u0627',
  '\u{10FFFF}',
  '\uFFFD',
];

export function describeKeysAndUnicode(harness: StorageHarness): void {
  describe('keys with separators and sibling prefixes', () => {
    beforeEach(() => harness.open());

    it('keeps records of repositories whose names share a prefix or a separator apart', async () => {
      for (const repository of TRICKY_NAMES) {
        for (const id of TRICKY_NAMES) {
          await harness.adapter.putRecord(repository, record(id, { repository }));
        }
      }
      for (const repository of TRICKY_NAMES) {
        const found = await harness.adapter.queryRecords(repository, spec());
        expect(found.map((item) => item.data?.repository)).toEqual(
          TRICKY_NAMES.map(() => repository),
        );
        expect(found.map((item) => item.id).sort()).toEqual([...TRICKY_NAMES].sort());
        for (const id of TRICKY_NAMES) {
          expect(await harness.adapter.getRecord(repository, id)).toStrictEqual(
            record(id, { repository }),
          );
        }
      }
    });

    it('does not confuse repository and id when both carry the separator', async () => {
      const pairs: [string, string][] = [
        ['a', 'b:c'],
        ['a:b', 'c'],
        ['a', 'b/c'],
        ['a/b', 'c'],
        ['a', 'b.c'],
        ['a.b', 'c'],
      ];
      for (const [repository, id] of pairs) {
        await harness.adapter.putRecord(repository, record(id, { from: `${repository}+${id}` }));
      }
      for (const [repository, id] of pairs) {
        const found = await harness.adapter.getRecord(repository, id);
        expect(found?.data?.from).toBe(`${repository}+${id}`);
      }
      expect(await queryIds(harness.adapter, 'a', spec())).toEqual(['b.c', 'b/c', 'b:c']);
      expect(await harness.adapter.getRecord('a', 'b')).toBeUndefined();
      expect(await harness.adapter.getRecord('a:b', 'b:c')).toBeUndefined();
    });

    it('answers nothing for names that are never written', async () => {
      await harness.adapter.putRecord('ab', record('x'));
      expect(await harness.adapter.getRecord('tasks', 'constructor')).toBeUndefined();
      expect(await harness.adapter.getRecord('constructor', 'x')).toBeUndefined();
      expect(await queryIds(harness.adapter, 'a', spec())).toEqual([]);
      expect(await queryIds(harness.adapter, '__proto__', spec())).toEqual([]);
      expect(await harness.adapter.getMeta('constructor')).toBeUndefined();
      expect(await harness.adapter.getMeta('__proto__')).toBeUndefined();
      expect(await harness.adapter.hasEvent('constructor')).toBe(false);
      expect(await harness.adapter.getEvent('toString')).toBeUndefined();
    });

    it('keeps meta keys that share a prefix or a separator apart', async () => {
      const keys = TRICKY_NAMES.flatMap((name) => [`cursor:${name}`, name]);
      for (const key of keys) await harness.adapter.setMeta(key, `value of ${key}`);
      await harness.adapter.setMeta('a', undefined);
      for (const key of keys) {
        expect(await harness.adapter.getMeta(key)).toBe(
          key === 'a' ? undefined : `value of ${key}`,
        );
      }
      expect(await harness.adapter.getMeta('cursor')).toBeUndefined();
      expect(await harness.adapter.getMeta('cursor:')).toBeUndefined();
    });

    it('filters events by exact repository name and finds them by exact id', async () => {
      for (const name of TRICKY_NAMES) {
        await harness.adapter.appendEvent(event(`evt:${name}`, { repository: name }));
      }
      for (const name of TRICKY_NAMES) {
        expect(eventIds(await harness.adapter.getEvents({ repository: name }))).toEqual([
          `evt:${name}`,
        ]);
        expect(await harness.adapter.hasEvent(`evt:${name}`)).toBe(true);
      }
      expect(await harness.adapter.hasEvent('evt:')).toBe(false);
      await harness.adapter.setEventStatus(['evt:a'], 'ok');
      expect(eventIds(await harness.adapter.getEvents({ status: 'ok' }))).toEqual(['evt:a']);
    });

    it('keeps namespaces that share a prefix or a separator apart', async () => {
      const namespaces = ['a', 'ab', 'a:b', 'a/b', 'a%', 'a_'];
      for (const namespace of namespaces) {
        await harness.adapter.useNamespace(namespace);
        await harness.adapter.putRecord('tasks', record('x', { namespace }));
        await harness.adapter.setMeta('owner', namespace);
      }
      for (const namespace of namespaces) {
        await harness.adapter.useNamespace(namespace);
        expect(await harness.adapter.queryRecords('tasks', spec())).toStrictEqual([
          record('x', { namespace }),
        ]);
        expect(await harness.adapter.getMeta('owner')).toBe(namespace);
      }
    });
  });

  describe('unicode', () => {
    beforeEach(() => harness.open());

    it('round-trips ids, repository names and values without normalising them', async () => {
      for (const repository of UNICODE_NAMES) {
        for (const id of UNICODE_NAMES) {
          await harness.adapter.putRecord(repository, record(id, { text: `${repository}${id}` }));
        }
      }
      for (const repository of UNICODE_NAMES) {
        expect((await queryIds(harness.adapter, repository, spec())).sort()).toEqual(
          [...UNICODE_NAMES].sort(),
        );
        for (const id of UNICODE_NAMES) {
          const found = await harness.adapter.getRecord(repository, id);
          expect(found).toStrictEqual(record(id, { text: `${repository}${id}` }));
        }
      }
    });

    it('tells a precomposed letter from the same letter with a combining mark', async () => {
      await harness.adapter.putRecord('words', record('\u00e9', { w: 'caf\u00e9' }));
      await harness.adapter.putRecord('words', record('e\u0301', { w: 'cafe\u0301' }));
      const byValue = spec([{ field: 'w', op: '==', value: 'caf\u00e9' }]);
      expect(await queryIds(harness.adapter, 'words', byValue)).toEqual(['\u00e9']);
      expect((await harness.adapter.getRecord('words', 'e\u0301'))?.data?.w).toBe('cafe\u0301');
    });

    it('round-trips unicode in events and meta', async () => {
      const text = UNICODE_NAMES.join(' ');
      const stored = event('\u{1F600}-event', {
        repository: '\u65E5\u672C\u8A9E',
        dataId: '\u05E9\u05DC\u05D5\u05DD',
        data: { id: '\u05E9\u05DC\u05D5\u05DD', text },
      });
      await harness.adapter.appendEvent(stored);
      expect(await harness.adapter.getEvent('\u{1F600}-event')).toStrictEqual(stored);
      expect(await harness.adapter.getEvents({ repository: '\u65E5\u672C\u8A9E' })).toStrictEqual([
        stored,
      ]);
      await harness.adapter.setMeta('\u{1F511}', text);
      expect(await harness.adapter.getMeta('\u{1F511}')).toBe(text);
    });
  });
}
