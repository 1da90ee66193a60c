/**
 * The key layout in the localforage store. Every name that comes from outside (namespace,
 * repository, record id, event id, meta key) is escaped so that it can never contain the `/`
 * that separates the parts: `%` becomes `%25` and `/` becomes `%2F`. The escaping is one to
 * one, so two different (namespace, repository, id) triples never share a key, whatever
 * separators or shared prefixes their names hold. Nothing here is ever found by prefix: every
 * key is built from its parts or listed in an index.
 */

function escapePart(part: string): string {
  return part.replace(/[%/]/g, (char) => (char === '%' ? '%25' : '%2F'));
}

function key(kind: string, ...parts: (string | number)[]): string {
  return [kind, ...parts.map((part) => escapePart(String(part)))].join('/');
}

/** The rollback journal of the commit in progress; there is one per store. */
export const JOURNAL_KEY = 'journal';

/** Where Web Locks are missing: the token of the adapter that writes the store now. */
export const WRITER_KEY = 'writer';

export const keys = {
  /** A record: `StoredRecord`. */
  record: (ns: string, repository: string, id: string) => key('r', ns, repository, id),
  /** How many ids a repository's id index holds: `IdIndexHead`. */
  idHead: (ns: string, repository: string) => key('ih', ns, repository),
  /** One page of a repository's id index: `string[]`. */
  idPage: (ns: string, repository: string, page: number) => key('ip', ns, repository, page),
  /** An event and its place in the log: `StoredEventEntry`. */
  event: (ns: string, eventId: string) => key('e', ns, eventId),
  /** The log's length and which of its pages hold pending events: `LogHead`. */
  logHead: (ns: string) => key('lh', ns),
  /** One page of the log, in append order: `LogEntry[]`. */
  logPage: (ns: string, page: number) => key('lp', ns, page),
  /** A meta value: `string`. */
  meta: (ns: string, name: string) => key('m', ns, name),
};

/** Index keys are small and read on every write, so the adapter keeps them in memory. */
export function isIndexKey(storeKey: string): boolean {
  return /^(ih|ip|lh|lp)\//.test(storeKey);
}
