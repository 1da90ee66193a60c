import type {
  EventsMessage,
  RequestEventsMessage,
  ServerMessage,
  SyncCompleteMessage,
} from '@local-first/core/adapter';
import type { Confirmations } from './confirmations.js';
import type { SyncEngine } from './engine.js';

/** What a catch-up needs of the session it runs for. */
export interface CatchUpHost {
  readonly engine: SyncEngine;
  readonly confirmations: Confirmations;
  /** True once the connection has closed: the stream stops. */
  readonly isClosed: boolean;
  send(message: ServerMessage): void;
  /** Resolves once the connection's unsent output is under its high-water mark. */
  whenWritable(): Promise<void>;
}

/**
 * Sends a repository's events page by page, then `sync_complete`, each tagged with the
 * request's `requestId` and the log's epoch. The pages are read from `stored` (the user's own
 * copy of a private repository) and carry the name the client asked for. The final `lastSequence` is what the log holds
 * when the stream ends (never the client's cursor echoed back), so a client whose cursor is
 * ahead of it can tell that the server's data is older than what it has seen.
 */
export async function streamEvents(
  host: CatchUpHost,
  request: RequestEventsMessage,
  stored: string = request.repository,
): Promise<void> {
  const { engine, confirmations } = host;
  const { store, limits } = engine;
  const { repository, requestId } = request;
  // Before the first page: whatever other nodes commit after it reaches this reader live.
  await engine.beforeCatchUp(stored);
  // Read before the first page, so it names the log the pages come from.
  const epoch = await engine.epochOf(stored);
  const tags = {
    ...(epoch !== undefined ? { epoch } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
  };
  const limit = Math.min(request.limit ?? limits.maxPageEvents, limits.maxPageEvents);
  let page =
    request.afterSequence === undefined && request.since !== undefined
      ? await store.readSince(stored, new Date(request.since).toISOString(), limit)
      : await store.readAfter(stored, request.afterSequence ?? 0, limit);
  // Pages in flight: each is awaited once `catchUpWindowPages` newer ones have gone out.
  const sent: { sequence: number; count: number }[] = [];
  const countBase = confirmations.countOf(repository);
  let total = 0;
  for (;;) {
    if (host.isClosed) return;
    if (page.events.length > 0) {
      const window = limits.catchUpWindowPages;
      if (window > 0 && confirmations.active && sent.length >= window) {
        const target = sent[sent.length - window]!;
        await confirmations.waitFor(
          repository,
          { ...target, countBase },
          limits.catchUpConfirmTimeoutMs,
        );
        if (host.isClosed) return;
      }
      // A client that confirms nothing and reads nothing gets no more than the mark allows.
      await host.whenWritable();
      if (host.isClosed) return;
      const message: EventsMessage = {
        type: 'events',
        repository,
        events: page.events,
        hasMore: page.hasMore,
        lastSequence: page.lastSequence,
        ...tags,
      };
      host.send(message);
      engine.observe.catchUpPage(repository, page.events.length);
      total += page.events.length;
      sent.push({ sequence: page.lastSequence, count: total });
    }
    if (!page.hasMore) break;
    // Yield to the event loop between pages: other connections get their turn, and this
    // client's confirmations are read while its stream is still going.
    await new Promise<void>((resolve) => setImmediate(resolve));
    page = await store.readAfter(stored, page.lastSequence, limit);
  }
  const complete: SyncCompleteMessage = {
    type: 'sync_complete',
    repository,
    lastSequence: page.lastSequence,
    ...tags,
  };
  host.send(complete);
}
