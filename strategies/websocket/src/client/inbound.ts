import type { Logger } from '@local-first/core';
import type {
  AuthSuccessMessage,
  Emitter,
  ErrorMessage,
  ServerMessage,
} from '@local-first/core/adapter';
import type { LogFollower } from './catch-up.js';
import type { FrameLimits } from './frame-size.js';
import type { Link } from './link.js';
import type { SyncActivity } from './options.js';
import type { Pusher } from './pusher.js';

/** What the handling of server messages needs from its strategy. */
export interface InboundOptions {
  follower: LogFollower;
  pusher: Pusher;
  limits: FrameLimits;
  activity: Emitter<SyncActivity>;
  logger: Logger;
  /** A connection up this long resets the reconnect backoff. */
  stableConnectionMs: number;
  /** True while `link` is the strategy's current link. */
  isCurrent(link: Link): boolean;
  /** True for the repositories the client gave the strategy (see `SyncStrategyBase.syncs`). */
  handlesRepository(name: string): boolean;
  /** The server refused the credentials; its 4401 close follows. */
  authFailed(failure: { code: string; message: string }): void;
  /** A link authenticated for the first time. */
  connected(): void;
  /** The link stayed up `stableConnectionMs`. */
  stable(): void;
}

/**
 * What the strategy does with each message of the server (but `ack`, which the link's inbox
 * takes even once the link is gone): one handler per type, each on the link it arrived on.
 */
export class Inbound {
  constructor(private readonly options: InboundOptions) {}

  async handle(link: Link, message: ServerMessage): Promise<void> {
    const { follower, handlesRepository } = this.options;
    if (!this.options.isCurrent(link)) return;
    switch (message.type) {
      case 'auth_success':
        return this.onAuthenticated(link, message);
      case 'auth_failed':
        this.options.authFailed({ code: message.code, message: message.message });
        return;
      case 'ping':
        link.send({ type: 'pong' });
        return;
      case 'pong':
      case 'ack':
        return;
      case 'events':
        if (!handlesRepository(message.repository) || !Array.isArray(message.events)) return;
        return follower.onEvents(link, message);
      case 'sync_complete':
        if (message.repository === undefined || !handlesRepository(message.repository)) return;
        return follower.onSyncComplete(link, message);
      case 'error':
        return this.onError(link, message);
      case 'lagging':
        // Live events were held back: the log has them, from our cursor.
        if (handlesRepository(message.repository)) follower.request(link, message.repository);
        return;
      case 'access_revoked':
        if (handlesRepository(message.repository)) return follower.revoke(link, message.repository);
        return;
    }
  }

  private async onAuthenticated(link: Link, message: AuthSuccessMessage): Promise<void> {
    const { follower, limits, handlesRepository } = this.options;
    if (message.limits) {
      limits.announced(message.limits);
      link.limits = limits.current;
    }
    if (link.authenticated) {
      // A re-authentication on the open socket: it may read again what was revoked.
      for (const repository of link.revoked) follower.request(link, repository);
      return;
    }
    const { host } = link;
    link.authenticated = true;
    link.echoesRequestIds = message.requestId === link.authRequestId;
    // Without request ids an error cannot name its batch unless only one is in flight.
    if (!link.echoesRequestIds) link.queue.limitInFlight(1);
    link.early = [];
    this.options.connected();
    link.heartbeat.start();
    link.after(this.options.stableConnectionMs, () => this.options.stable());
    await follower.begin(link, host.repositoryNames().filter(handlesRepository));
    if (link.closed) return;
    // The link's host is held to its namespace: these are that account's changes only.
    const pending = await host.getPendingEvents();
    if (link.closed) return;
    const early = link.early ?? [];
    link.early = undefined;
    link.queue.add([...pending.filter((event) => handlesRepository(event.repository)), ...early]);
  }

  private onError(link: Link, message: ErrorMessage): void {
    this.options.activity.emit({
      type: 'server_error',
      code: message.code,
      message: message.message,
      ...(message.requestType ? { requestType: message.requestType } : {}),
      ...(message.repository ? { repository: message.repository } : {}),
    });
    this.options.logger.warn(
      { code: message.code, requestType: message.requestType, repository: message.repository },
      message.message,
    );
    switch (message.requestType) {
      case 'push_events_batch':
      case 'push_event':
        this.options.pusher.onError(link, message);
        return;
      case 'request_events':
        this.options.follower.onError(link, message);
        return;
    }
  }
}
