import {
  ERROR_CODES,
  LocalFirstError,
  type Logger,
  type ResetReason,
  type StoredEvent,
  type SyncActivity,
  type Verdict,
} from '@local-first/core';
import {
  type AckMessage,
  advanceCursor,
  formatPosition,
  parsePosition,
  reach,
  type StoredPosition,
  type SyncHost,
  toWireEvent,
} from '@local-first/core/adapter';
import { type Batch, type BatchBudget, batchBytes } from './batches.js';
import type { Outcome, RestClient } from './http.js';

/** How a round ended. */
export type RoundResult =
  /** Every pending change was answered; `caughtUp` lists the repositories pulled to the end. */
  | { kind: 'done'; caughtUp: ReadonlySet<string> }
  /** The server or the network failed; the next round comes after a pause. */
  | { kind: 'failed'; message: string; retryAfterMs?: number }
  /** The server refused the credentials (401) sent as `refused` (the request's headers). */
  | { kind: 'auth_failed'; code: string; message: string; refused: Record<string, string> }
  /** The strategy stopped, or the client moved to another namespace, during the round. */
  | { kind: 'aborted' };

/** What ends a round early. */
type Stop = Exclude<RoundResult, { kind: 'done' }>;

/** What a round needs from its strategy. */
export interface RoundOptions {
  name: string;
  http: RestClient;
  budget: BatchBudget;
  pageSize: number;
  logger: Logger;
  cursorKey(repository: string): string;
  emit(activity: SyncActivity): void;
}

/**
 * One round: its host (held to one namespace), that namespace's headers (asked for each
 * request, so credentials updated during the round are used at once), and a stop signal.
 */
export interface RoundInput {
  host: SyncHost;
  headers(): Record<string, string>;
  repositories: readonly string[];
  signal: AbortSignal;
}

/**
 * Times one event may lead a batch in a round: enough for the 413 halvings from 500 events
 * down to one, and the round's other tries.
 */
const MAX_SENDS_PER_ROUND = 16;

/** Times a round starts over a repository whose log was recreated before it gives up. */
const MAX_PASSES = 3;

function encode(repository: string): string {
  return encodeURIComponent(repository);
}

/**
 * One sync round over REST: pulls each repository from its stored cursor to the end of the
 * server's log, page by page, then pushes every pending change in batches until the server has
 * answered each (acknowledged, or refused with a final verdict). A repository whose log was
 * recreated (another epoch, or a log that ends before what this device knows it held) starts
 * over from the beginning, and this device's own changes are pushed again. Pulling first means
 * the log's epoch is stored before any of our changes is acknowledged in it, so a log restored
 * later is always told apart from the one that holds them.
 */
export class SyncRound {
  constructor(private readonly options: RoundOptions) {}

  async run(input: RoundInput): Promise<RoundResult> {
    try {
      const caughtUp = new Set<string>();
      for (const repository of input.repositories) {
        for (let pass = 0; pass < MAX_PASSES; pass++) {
          const pulled = await this.pull(input, repository);
          if (typeof pulled === 'object') return pulled;
          if (pulled === 'caught_up') caughtUp.add(repository);
          // Started over from 0: the restored log is read in the same round.
          if (pulled !== 'reset') break;
        }
      }
      const stopped = await this.push(input);
      if (stopped) return stopped;
      return { kind: 'done', caughtUp };
    } catch (error) {
      if (error instanceof LocalFirstError && error.code === ERROR_CODES.namespaceChanged)
        return { kind: 'aborted' };
      this.options.logger.error({ error }, 'a sync round failed');
      return { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Pushes until no pending change of the round's repositories is left: the pending changes
   * as read once, repository by repository in batches, then what was written meanwhile.
   */
  private async push(input: RoundInput): Promise<Stop | undefined> {
    const repositories = new Set(input.repositories);
    // How often each event led a batch this round: a server that keeps refusing the same
    // events in a way no halving cures must end the round, never spin it.
    const led = new Map<string, number>();
    for (;;) {
      const byRepository = new Map<string, StoredEvent[]>();
      for (const event of await input.host.getPendingEvents()) {
        if (!repositories.has(event.repository)) continue;
        const list = byRepository.get(event.repository);
        if (list) list.push(event);
        else byRepository.set(event.repository, [event]);
      }
      if (byRepository.size === 0) return undefined;
      for (const events of byRepository.values()) {
        let start = 0;
        for (let batch = this.options.budget.next(events, start); batch; ) {
          const first = batch.events[0]!.eventId;
          const times = (led.get(first) ?? 0) + 1;
          led.set(first, times);
          if (times > MAX_SENDS_PER_ROUND)
            return {
              kind: 'failed',
              message: `the server took none of a batch after ${MAX_SENDS_PER_ROUND} tries this round`,
            };
          const sent = await this.send(input, batch);
          if (typeof sent === 'object') return sent;
          if (sent === 'answered') start += batch.events.length;
          batch = this.options.budget.next(events, start);
        }
      }
    }
  }

  /** Sends one batch: `answered` (acknowledged, or refused for good), `again` (cut smaller). */
  private async send(input: RoundInput, batch: Batch): Promise<'answered' | 'again' | Stop> {
    const { host } = input;
    if (batch.events.length === 1 && this.overOwnLimit(batch)) {
      await this.refuse(host, batch, 'client', 'the strategy sends');
      return 'answered';
    }
    const body = JSON.stringify({ events: batch.events.map(toWireEvent) });
    const headers = input.headers();
    const outcome = await this.options.http.request(
      `/api/events/${encode(batch.repository)}/batch`,
      { method: 'POST', headers, body, signal: input.signal },
    );
    if (outcome.kind === 'ok')
      return (await this.acknowledged(host, batch, outcome.body as AckMessage)) ?? 'answered';
    if (outcome.kind === 'refused' && outcome.status === 413) {
      if (batch.events.length === 1) {
        await this.refuse(host, batch, 'server', 'the server accepts');
        return 'answered';
      }
      this.options.budget.refused(batch);
      return 'again';
    }
    if (outcome.kind === 'refused' && outcome.status === 403) {
      // No write access: the server's final word on each of them, as an ack's `rejected`.
      await this.reject(
        host,
        batch.events.map((event) => ({
          eventId: event.eventId,
          code: 'forbidden',
          message: outcome.message,
          source: 'server',
        })),
      );
      return 'answered';
    }
    return this.stopFor(outcome, headers, 'push_events_batch', batch.repository);
  }

  private overOwnLimit(batch: Batch): boolean {
    return batchBytes(batch.events) > this.options.budget.ownBytes;
  }

  /** A change too large to push on its own: a final verdict, so it never blocks the rest. */
  private async refuse(
    host: SyncHost,
    batch: Batch,
    source: Verdict['source'],
    who: string,
  ): Promise<void> {
    const [event] = batch.events;
    await this.reject(host, [
      {
        eventId: event!.eventId,
        code: ERROR_CODES.eventTooLarge,
        message: `the change takes ${batch.bytes} bytes; ${who} fewer in one request`,
        source,
      },
    ]);
  }

  private async reject(host: SyncHost, verdicts: Verdict[]): Promise<void> {
    await host.rejectEvents(verdicts);
    this.options.emit({ type: 'rejected', rejected: verdicts });
  }

  /** Stores the server's answer to a batch; a batch it did not fully answer ends the round. */
  private async acknowledged(
    host: SyncHost,
    batch: Batch,
    ack: AckMessage,
  ): Promise<Stop | undefined> {
    const eventIds = Array.isArray(ack.eventIds) ? ack.eventIds : [];
    const rejected = Array.isArray(ack.rejected) ? ack.rejected : [];
    const cursor = await this.reached(host, batch.repository, ack.lastSequence);
    if (eventIds.length > 0 || cursor) await host.markSynced(eventIds, cursor);
    if (rejected.length > 0)
      await this.reject(
        host,
        rejected.map((entry) => ({
          eventId: entry.eventId,
          code: entry.code,
          message: entry.message,
          source: 'server',
        })),
      );
    if (eventIds.length > 0) this.options.emit({ type: 'acknowledged', eventIds: [...eventIds] });
    const answered = new Set([...eventIds, ...rejected.map((entry) => entry.eventId)]);
    const missing = batch.events.filter((event) => !answered.has(event.eventId)).length;
    if (missing === 0) return undefined;
    // Sending it again at once could spin; the next round tries after a pause.
    return {
      kind: 'failed',
      message: `the server answered ${batch.events.length - missing} of ${batch.events.length} events of a batch`,
    };
  }

  /**
   * The cursor to store with an ack whose `lastSequence` shows the log reaching further than
   * this device knew: the log holds at least our events, so one that ends before them later
   * was restored from an older copy.
   */
  private async reached(host: SyncHost, repository: string, lastSequence: number | undefined) {
    if (typeof lastSequence !== 'number') return undefined;
    const key = this.options.cursorKey(repository);
    const position = parsePosition(await host.getMeta(key));
    if (lastSequence <= reach(position)) return undefined;
    return { key, value: formatPosition({ ...position, seen: lastSequence }) };
  }

  /** Pulls one repository to the end of the server's log. */
  private async pull(
    input: RoundInput,
    repository: string,
  ): Promise<'caught_up' | 'unreadable' | 'reset' | Stop> {
    const { host } = input;
    const key = this.options.cursorKey(repository);
    let position = parsePosition(await host.getMeta(key));
    const known = reach(position);
    for (;;) {
      const query = `afterSequence=${position.sequence}&limit=${this.options.pageSize}`;
      const headers = input.headers();
      const outcome = await this.options.http.request(
        `/api/events/${encode(repository)}?${query}`,
        {
          method: 'GET',
          headers,
          signal: input.signal,
        },
      );
      if (outcome.kind === 'refused' && outcome.status === 403) {
        // Not to be read by this account (REST has no access_revoked): asked again next round.
        this.options.emit({
          type: 'server_error',
          code: outcome.code,
          message: outcome.message,
          requestType: 'request_events',
          repository,
        });
        return 'unreadable';
      }
      if (outcome.kind !== 'ok')
        return this.stopFor(outcome, headers, 'request_events', repository);
      const page = outcome.body as {
        events?: unknown;
        hasMore?: unknown;
        lastSequence?: unknown;
        epoch?: unknown;
      };
      if (!Array.isArray(page.events))
        return {
          kind: 'failed',
          message: `the server sent a page of ${repository} without events`,
        };
      const epoch = typeof page.epoch === 'string' ? page.epoch : undefined;
      const lastSequence = typeof page.lastSequence === 'number' ? page.lastSequence : undefined;
      if (position.epoch !== undefined && epoch !== undefined && position.epoch !== epoch)
        return this.reset(host, repository, epoch, 'epoch');
      const end = page.hasMore !== true;
      const sequences = page.events.map(
        (event) => (event as { serverSequence?: number } | null)?.serverSequence,
      );
      const { cursor } = advanceCursor(position.sequence, sequences, {
        catchUp: true,
        lastSequence,
      });
      const next: StoredPosition = { sequence: cursor, epoch: epoch ?? position.epoch };
      if (position.seen !== undefined && position.seen > cursor) next.seen = position.seen;
      const moved = cursor !== position.sequence || next.epoch !== position.epoch;
      const result = await host.applyRemoteEvents(
        repository,
        page.events,
        moved ? { key, value: formatPosition(next) } : undefined,
      );
      if (result.invalid.length > 0)
        this.options.logger.warn(
          { repository, invalid: result.invalid },
          'server sent malformed events',
        );
      if (input.signal.aborted) return { kind: 'aborted' };
      const advanced = cursor > position.sequence;
      position = next;
      if (end) {
        // The log ends before what we know it held: it was restored from an older copy.
        if (lastSequence !== undefined && lastSequence < known)
          return this.reset(host, repository, position.epoch, 'cursor_ahead');
        this.options.emit({ type: 'sync_complete', repository, lastSequence: cursor });
        return 'caught_up';
      }
      // A page that says more follows but moves nothing would be asked again forever.
      if (!advanced)
        return { kind: 'failed', message: `the server's pages of ${repository} do not advance` };
    }
  }

  /**
   * The server's log of a repository is not the one our cursor points into: start over from
   * its beginning. Pending changes stay pending; this device's acknowledged ones are pushed
   * again (the restored log may lack them; the server keeps each eventId once).
   */
  private async reset(
    host: SyncHost,
    repository: string,
    epoch: string | undefined,
    reason: ResetReason,
  ): Promise<'reset'> {
    this.options.logger.warn(
      { repository, reason },
      'the server log was recreated; syncing from its start',
    );
    const position: StoredPosition = { sequence: 0, epoch };
    const key = this.options.cursorKey(repository);
    await host.applyRemoteEvents(repository, [], { key, value: formatPosition(position) });
    await host.requeueLocalEvents(repository);
    this.options.emit({ type: 'reset', repository, reason });
    return 'reset';
  }

  /** What a failed request means for the round. */
  private stopFor(
    outcome: Exclude<Outcome, { kind: 'ok' }>,
    headers: Record<string, string>,
    requestType: string,
    repository: string,
  ): Stop {
    if (outcome.kind === 'aborted') return outcome;
    if (outcome.kind === 'unreachable') return { kind: 'failed', message: outcome.message };
    if (outcome.status === 401)
      return {
        kind: 'auth_failed',
        code: outcome.code,
        message: outcome.message,
        refused: headers,
      };
    // Told to the app: a status that is not the network's (400, 404…) needs someone to look.
    this.options.emit({
      type: 'server_error',
      code: outcome.code,
      message: outcome.message,
      requestType,
      repository,
    });
    return {
      kind: 'failed',
      message: `HTTP ${outcome.status} ${outcome.code}: ${outcome.message}`,
      ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
    };
  }
}
