import type { RecordData, StoredRecord } from '@local-first/core';
import { resolveRemoteEvent, type ServerEvent } from '@local-first/core/adapter';
import type { ReportedWrite } from './client-process.js';
import type { ClientLine } from './messages.js';

type StateLine = Extract<ClientLine, { type: 'state' }>;

/** Most problems of one kind a report lists before it only counts the rest. */
const LISTED = 8;
const READ_TIMEOUT_MS = 10_000;

/** Every event of a repository, paged through the server's REST API. */
export async function readServerLog(
  origin: string,
  repository: string,
  token: string,
  pageSize: number,
): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  let after = 0;
  for (;;) {
    const url = `${origin}/api/events/${encodeURIComponent(repository)}?afterSequence=${after}&limit=${pageSize}`;
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(READ_TIMEOUT_MS),
    }).catch((error: unknown) => {
      throw new Error(`GET ${url} failed after ${events.length} events read: ${error}`);
    });
    if (!response.ok)
      throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as {
      events: ServerEvent[];
      hasMore: boolean;
      lastSequence: number;
    };
    events.push(...page.events);
    if (!page.hasMore) return events;
    if (page.events.length === 0 || page.lastSequence <= after)
      throw new Error(`GET ${url}: hasMore with no progress (lastSequence ${page.lastSequence})`);
    after = page.lastSequence;
  }
}

/** (b) The log's sequences are exactly 1..N in order, and each eventId is in it once. */
export function checkLog(events: readonly ServerEvent[]): string[] {
  const problems: string[] = [];
  const wrong = events
    .map((event, index) => ({ expected: index + 1, got: event.serverSequence }))
    .filter((entry) => entry.expected !== entry.got);
  if (wrong.length > 0) {
    problems.push(
      `server log: ${events.length} events, but ${wrong.length} sequences are not 1..N in order; ` +
        `first: ${wrong
          .slice(0, LISTED)
          .map((entry) => `#${entry.expected} holds ${entry.got}`)
          .join(', ')}`,
    );
  }
  const seen = new Map<string, number>();
  for (const event of events) seen.set(event.eventId, (seen.get(event.eventId) ?? 0) + 1);
  const twice = [...seen].filter(([, count]) => count > 1);
  if (twice.length > 0) {
    problems.push(
      `server log: ${twice.length} eventIds stored more than once: ` +
        list(twice.map(([eventId, count]) => `${eventId} ×${count}`)),
    );
  }
  return problems;
}

/**
 * (a) Every write a client saw resolve is on the server exactly once, as written: same record,
 * same operation, same value.
 */
export function checkWrites(
  writes: readonly ReportedWrite[],
  events: readonly ServerEvent[],
): string[] {
  const byId = new Map<string, ServerEvent[]>();
  for (const event of events) byId.set(event.eventId, [...(byId.get(event.eventId) ?? []), event]);
  const missing: string[] = [];
  const duplicated: string[] = [];
  const altered: string[] = [];
  for (const write of writes) {
    const found = byId.get(write.eventId) ?? [];
    const name = `${write.client}#${write.incarnation} ${write.op} ${write.id} (${write.eventId})`;
    if (found.length === 0) missing.push(name);
    else if (found.length > 1) duplicated.push(`${name} ×${found.length}`);
    const event = found[0];
    if (!event) continue;
    const value = (event.data as { value?: unknown } | null)?.value;
    const sameOp = write.op === 'delete' ? event.operation === 2 : event.operation !== 2;
    if (event.dataId !== write.id || !sameOp || (write.op === 'upsert' && value !== write.value))
      altered.push(`${name}: server has ${event.dataId} op ${event.operation} value ${value}`);
  }
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(
      `${missing.length} of ${writes.length} resolved writes are not on the server: ${list(missing)}`,
    );
  if (duplicated.length > 0)
    problems.push(
      `${duplicated.length} resolved writes are on the server more than once: ${list(duplicated)}`,
    );
  if (altered.length > 0)
    problems.push(`${altered.length} writes differ on the server: ${list(altered)}`);
  return problems;
}

/** Last-writer-wins over the server's log, in sequence order, tombstones included. */
export function lastWriterWins(events: readonly ServerEvent[]): Map<string, StoredRecord> {
  const state = new Map<string, StoredRecord>();
  for (const event of [...events].sort((a, b) => a.serverSequence - b.serverSequence)) {
    const next = resolveRemoteEvent(state.get(event.dataId), event);
    if (next) state.set(event.dataId, next);
  }
  return state;
}

/** The winning eventId of every record: what a client must hold before it reports its state. */
export function winners(state: ReadonlyMap<string, StoredRecord>): Record<string, string> {
  return Object.fromEntries([...state].map(([id, record]) => [id, record.eventId]));
}

/**
 * (c) A client's final state equals last-writer-wins over the server's log: the same records,
 * each with the same stamp, tombstone flag and data; and what the app sees agrees with it.
 */
export function checkState(
  client: string,
  expected: ReadonlyMap<string, StoredRecord>,
  line: StateLine,
): string[] {
  const diff: string[] = [];
  const actual = new Map(line.records.map((record) => [record.id, record]));
  for (const id of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const want = expected.get(id);
    const got = actual.get(id);
    if (!want || !got || canonical(recordView(want)) !== canonical(recordView(got)))
      diff.push(`${id}: expected ${describe(want)}, has ${describe(got)}`);
  }
  const visible = new Map(line.visible.map((item) => [String(item.id), item]));
  for (const [id, want] of expected) {
    const shown: RecordData = want.deleted ? { id, _deleted: true } : (want.data ?? {});
    if (canonical(visible.get(id) ?? null) !== canonical(shown))
      diff.push(
        `${id} as the app sees it: expected ${canonical(shown)}, got ${canonical(visible.get(id) ?? null)}`,
      );
  }
  if (visible.size !== expected.size)
    diff.push(
      `the app sees ${visible.size} records (tombstones included), expected ${expected.size}`,
    );
  if (diff.length === 0) return [];
  return [
    `${client}: final state differs from last-writer-wins over the server log ` +
      `(${line.converged ? 'it said it converged' : 'it never converged'}):\n    ${diff.join('\n    ')}`,
  ];
}

/**
 * Every local event of every client is acknowledged and on the server, every event on the
 * server was written by some client, and every client's log holds exactly the server's events:
 * nothing lost between them, nothing skipped, nothing made up.
 */
export function checkLocalEvents(
  states: ReadonlyMap<string, StateLine>,
  events: readonly ServerEvent[],
  /** Every client reported: only then can an event be in nobody's log. */
  complete: boolean,
): string[] {
  const onServer = new Set(events.map((event) => event.eventId));
  const written = new Set<string>();
  const problems: string[] = [];
  for (const [client, line] of states) {
    const unsynced = line.localEvents.filter((event) => event.syncStatus !== 'ok');
    const absent = line.localEvents.filter((event) => !onServer.has(event.eventId));
    for (const event of line.localEvents) written.add(event.eventId);
    if (unsynced.length > 0)
      problems.push(
        `${client}: ${unsynced.length} local events not acknowledged at the end: ` +
          list(unsynced.map((event) => `${event.eventId} (${event.dataId}, ${event.syncStatus})`)),
      );
    if (absent.length > 0)
      problems.push(
        `${client}: ${absent.length} local events are not on the server: ` +
          list(absent.map((event) => `${event.eventId} (${event.dataId})`)),
      );
  }
  for (const [client, line] of states) {
    const logged = new Set(line.loggedEventIds);
    const missing = events.filter((event) => !logged.has(event.eventId));
    const extra = [...logged].filter((eventId) => !onServer.has(eventId));
    const twice = line.loggedEventIds.length - logged.size;
    if (missing.length > 0 || extra.length > 0 || twice > 0)
      problems.push(
        `${client}: its log holds ${line.loggedEventIds.length} events, the server ${events.length}: ` +
          `${missing.length} missing (${list(missing.map((event) => `#${event.serverSequence}`))}), ` +
          `${extra.length} not on the server, ${twice} twice`,
      );
  }
  const strangers = complete ? events.filter((event) => !written.has(event.eventId)) : [];
  if (strangers.length > 0)
    problems.push(
      `${strangers.length} server events are in no client's local log: ` +
        list(strangers.map((event) => `#${event.serverSequence} ${event.eventId}`)),
    );
  return problems;
}

function recordView(record: StoredRecord): object {
  return { deleted: record.deleted, eventId: record.eventId, hlc: record.hlc, data: record.data };
}

function describe(record: StoredRecord | undefined): string {
  if (!record) return 'nothing';
  return record.deleted
    ? `tombstone ${record.eventId}`
    : `${canonical(record.data)} by ${record.eventId}`;
}

/** JSON with sorted keys, so equal records print equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

function list(items: readonly string[]): string {
  const shown = items.slice(0, LISTED).join(', ');
  return items.length > LISTED ? `${shown}, … (${items.length - LISTED} more)` : shown;
}
