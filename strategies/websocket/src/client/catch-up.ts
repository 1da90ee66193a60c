export type { ResetReason } from '@local-first/core';

import type { AccessRevocation, Logger, ResetReason } from '@local-first/core';
import {
  advanceCursor,
  type ErrorMessage,
  type EventsMessage,
  formatPosition,
  parsePosition,
  reach,
  type StoredPosition,
  type SyncCompleteMessage,
} from '@local-first/core/adapter';
import type { Link } from './link.js';

/** What the follower needs from its strategy. */
export interface LogFollowerOptions {
  /** The strategy's name, for the revocations it reports. */
  name: string;
  logger: Logger;
  /** Meta key of a repository's stored position. */
  cursorKey(repository: string): string;
  /** Pause before the retry of a failed request (backoff by attempt). */
  retryDelay(attempt: number): number;
  onCaughtUp(repository: string, lastSequence: number): void;
  onReset(repository: string, reason: ResetReason): void;
  onRevoked(revocation: AccessRevocation): void;
}

const START: StoredPosition = { sequence: 0, epoch: undefined };

/**
 * Follows the server's log of each repository on a link: asks for catch-ups from the stored
 * cursor, applies pages and live events, moves the cursor only over unbroken runs (so it never
 * skips an event), retries a catch-up the server could not serve, and starts a repository over
 * when the server's log is not the one the cursor points into (another epoch, or a log that
 * ends before the cursor: restored from an older copy).
 */
export class LogFollower {
  constructor(private readonly options: LogFollowerOptions) {}

  /** Reads the stored positions and asks for a catch-up of each repository. */
  async begin(link: Link, repositories: readonly string[]): Promise<void> {
    for (const repository of repositories) {
      const stored = await link.host.getMeta(this.options.cursorKey(repository));
      if (link.closed) return;
      link.positions.set(repository, parsePosition(stored));
      this.request(link, repository);
    }
  }

  /** Asks for what follows the cursor, unless a catch-up of the repository is under way. */
  request(link: Link, repository: string): void {
    if (!link.authenticated || link.catchUps.has(repository)) return;
    const afterSequence = link.positions.get(repository)?.sequence ?? 0;
    const requestId = link.nextRequestId();
    link.catchUps.set(repository, { requestId, afterSequence });
    link.caughtUp.delete(repository);
    link.send({ type: 'request_events', repository, afterSequence, requestId });
  }

  /** Applies a catch-up page or a live broadcast. */
  async onEvents(link: Link, message: EventsMessage): Promise<void> {
    const { repository } = message;
    const catchUpPage = message.hasMore !== undefined;
    const asked = link.catchUps.get(repository);
    // A page of a request this link no longer waits for (a reset started over) moves nothing.
    if (catchUpPage && link.echoesRequestIds && asked?.requestId !== message.requestId) return;
    const position = link.positions.get(repository) ?? START;
    if (epochChanged(position.epoch, message.epoch))
      return this.reset(link, repository, message.epoch, 'epoch');
    const { cursor, gap } = advanceCursor(
      position.sequence,
      message.events.map((event) => event.serverSequence),
      { catchUp: catchUpPage, lastSequence: message.lastSequence },
    );
    const next: StoredPosition = { sequence: cursor, epoch: message.epoch ?? position.epoch };
    if (position.seen !== undefined && position.seen > cursor) next.seen = position.seen;
    const moved = cursor !== position.sequence || next.epoch !== position.epoch;
    const result = await link.host.applyRemoteEvents(
      repository,
      message.events,
      moved ? this.cursor(repository, next) : undefined,
    );
    if (link.closed) return;
    link.positions.set(repository, next);
    if (result.invalid.length > 0)
      this.options.logger.warn(
        { repository, invalid: result.invalid },
        'server sent malformed events',
      );
    link.receipts.add(repository, message.events.length, cursor, catchUpPage);
    if (gap) this.request(link, repository);
  }

  /** The end of a catch-up: the repository is caught up, or starts over. */
  async onSyncComplete(link: Link, message: SyncCompleteMessage): Promise<void> {
    const repository = message.repository!;
    const asked = link.catchUps.get(repository);
    if (!asked || (link.echoesRequestIds && asked.requestId !== message.requestId)) return;
    const position = link.positions.get(repository) ?? START;
    if (epochChanged(position.epoch, message.epoch))
      return this.reset(link, repository, message.epoch, 'epoch');
    // The server's log ends before what we know it held: it was restored from an older copy.
    const known = Math.max(asked.afterSequence, position.seen ?? 0);
    if (message.lastSequence !== undefined && message.lastSequence < known)
      return this.reset(link, repository, message.epoch ?? position.epoch, 'cursor_ahead');
    if (message.epoch !== undefined && position.epoch === undefined) {
      const next = { ...position, epoch: message.epoch };
      await link.host.applyRemoteEvents(repository, [], this.cursor(repository, next));
      if (link.closed) return;
      link.positions.set(repository, next);
    }
    link.catchUps.delete(repository);
    link.catchUpAttempts.delete(repository);
    link.revoked.delete(repository);
    link.caughtUp.add(repository);
    this.options.onCaughtUp(repository, link.positions.get(repository)?.sequence ?? 0);
  }

  /**
   * The cursor to store with an ack of pushes that reached `lastSequence` in a repository's
   * log, when that is further than this device knew; `undefined` when nothing changes.
   */
  acknowledged(link: Link, repository: string, lastSequence: number | undefined) {
    const position = link.positions.get(repository);
    if (!position || lastSequence === undefined || lastSequence <= reach(position))
      return undefined;
    const next = { ...position, seen: lastSequence };
    link.positions.set(repository, next);
    return this.cursor(repository, next);
  }

  /** A catch-up the server did not serve is asked again after a pause, with backoff. */
  onError(link: Link, message: ErrorMessage): void {
    const byId = link.echoesRequestIds && message.requestId !== undefined;
    for (const [repository, asked] of [...link.catchUps]) {
      const failed = byId
        ? asked.requestId === message.requestId
        : message.repository === undefined || message.repository === repository;
      if (!failed) continue;
      link.catchUps.delete(repository);
      // Still not to be read: asked again after the next re-authentication.
      if (message.code === 'forbidden' && link.revoked.has(repository)) continue;
      const attempt = link.catchUpAttempts.get(repository) ?? 0;
      link.catchUpAttempts.set(repository, attempt + 1);
      const delay = Math.max(message.retryAfterMs ?? 0, this.options.retryDelay(attempt));
      link.after(delay, () => this.request(link, repository));
    }
  }

  /**
   * The server's log of a repository is not the one our cursor points into: start over from
   * its beginning. Pending events stay pending; this device's acknowledged events are pushed
   * again (the restored log may lack them; the server keeps each eventId once).
   */
  private async reset(
    link: Link,
    repository: string,
    epoch: string | undefined,
    reason: ResetReason,
  ): Promise<void> {
    const { logger } = this.options;
    const { host } = link;
    logger.warn({ repository, reason }, 'the server log was recreated; syncing from its start');
    const next = { sequence: 0, epoch };
    await host.applyRemoteEvents(repository, [], this.cursor(repository, next));
    const resent = await host.requeueLocalEvents(repository);
    if (link.closed) return;
    link.positions.set(repository, next);
    link.catchUps.delete(repository);
    this.options.onReset(repository, reason);
    this.request(link, repository);
    link.queue.add(resent);
  }

  /**
   * The server no longer lets this link read a repository: no catch-up of it is waited for,
   * its local copy and stored position are dropped in one transaction, and the changes dropped
   * with it leave the queue. A re-authentication asks for it again, and so does every new
   * connection, from the start since the cursor is gone.
   */
  async revoke(link: Link, repository: string): Promise<void> {
    if (!link.host.repositoryNames().includes(repository)) return;
    link.catchUps.delete(repository);
    link.catchUpAttempts.delete(repository);
    link.caughtUp.delete(repository);
    link.revoked.add(repository);
    link.positions.set(repository, START);
    const revocation = await link.host.revokeRepository(repository, {
      strategy: this.options.name,
      metaKeys: [this.options.cursorKey(repository)],
    });
    if (!revocation) return;
    link.queue.withdraw(revocation.rejected.map((rejection) => rejection.eventId));
    this.options.onRevoked(revocation);
  }

  private cursor(repository: string, position: StoredPosition) {
    return { key: this.options.cursorKey(repository), value: formatPosition(position) };
  }
}

function epochChanged(stored: string | undefined, received: string | undefined): boolean {
  return stored !== undefined && received !== undefined && stored !== received;
}
