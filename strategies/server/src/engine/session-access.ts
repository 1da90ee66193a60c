import type { RepositoryAccess } from './access.js';
import type { AuthenticatedUser } from './auth.js';
import type { SyncEngine } from './engine.js';
import { SmallMap } from './small-map.js';

interface Readable {
  readonly asked: Promise<boolean>;
  known?: boolean;
}

/** The entry of a repository the user was found to read: one for every connection. */
const READABLE: Readable = Object.freeze({ asked: Promise.resolve(true), known: true });

/**
 * One connection's view of access: the engine's answers per repository name, cached until
 * re-authentication or new rules (`forget`); whether the user reads each stored repository,
 * for broadcasts; and the repositories the client has a copy of, which a change of access
 * may take away (`lost`).
 */
export class SessionAccess {
  /** Access per repository as the client names it: asked once, until `forget`. */
  private readonly byName = new SmallMap<string, Promise<RepositoryAccess>>();
  /**
   * Whether the user reads a stored repository, for broadcasts: cached like `byName`, `known`
   * once the answer has arrived, for the broadcast's synchronous path.
   */
  private readonly readable = new SmallMap<string, Readable>();
  /**
   * The repositories this connection was sent or pushed events of (client name → stored name):
   * the client has a copy of each.
   */
  private readonly granted = new SmallMap<string, string>();

  constructor(
    private readonly engine: SyncEngine,
    private readonly user: () => AuthenticatedUser | undefined,
  ) {}

  /** What the user may do with a repository as the client names it; a failure is asked again. */
  accessTo(repository: string): Promise<RepositoryAccess> {
    const cached = this.byName.get(repository);
    if (cached) return cached;
    const asked = this.engine.access(this.user()!, repository);
    this.byName.set(repository, asked);
    // Registered first, so the stored name is known to broadcasts before the caller goes on.
    asked.then(
      (access) => {
        if (this.byName.get(repository) !== asked || !access.read) return;
        if (!this.readable.has(access.stored)) this.readable.set(access.stored, READABLE);
      },
      () => {
        if (this.byName.get(repository) === asked) this.byName.delete(repository);
      },
    );
    return asked;
  }

  /** Whether the user reads a stored repository (for broadcasts of any node). */
  mayRead(stored: string): Promise<boolean> {
    const policy = this.engine.accessPolicy;
    if (policy.neverReads(this.user()!, stored)) return Promise.resolve(false);
    const cached = this.readable.get(stored);
    if (cached) return cached.asked;
    const entry: Readable = {
      asked: this.accessTo(policy.nameOf(stored)).then(
        (access) => access.read && access.stored === stored,
      ),
    };
    this.readable.set(stored, entry);
    // The entry is dropped by `forget`, so a late answer lands nowhere.
    entry.asked.then(
      (allowed) => {
        entry.known = allowed;
      },
      () => {
        if (this.readable.get(stored) === entry) this.readable.delete(stored);
      },
    );
    return entry.asked;
  }

  /** `mayRead`'s answer when it is already known, else `undefined`. */
  mayReadNow(stored: string): boolean | undefined {
    const user = this.user();
    if (user && this.engine.accessPolicy.neverReads(user, stored)) return false;
    return this.readable.get(stored)?.known;
  }

  /** Answers are asked anew from now on (re-authentication, new rules). */
  forget(): void {
    this.byName.clear();
    this.readable.clear();
  }

  /** Notes that the client has a copy of a repository it may read. */
  grant(repository: string, access: RepositoryAccess): void {
    if (access.read) this.granted.set(repository, access.stored);
  }

  /**
   * The repositories the client has a copy of and may no longer read (or that now name
   * another stored repository), forgotten as copies; stops early once `closed()` says so.
   */
  async lost(closed: () => boolean): Promise<string[]> {
    const lost: string[] = [];
    for (const [repository, stored] of [...this.granted]) {
      if (closed() || !this.user()) break;
      const access = await this.accessTo(repository);
      if (access.read && access.stored === stored) continue;
      this.granted.delete(repository);
      lost.push(repository);
    }
    return lost;
  }

  /** Adds the stored repositories the user reads, or asked to read and awaits the answer for. */
  addReadRepositories(names: Set<string>): void {
    for (const [repository, { known }] of this.readable) {
      if (known !== false) names.add(repository);
    }
  }
}
