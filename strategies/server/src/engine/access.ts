import { type Access, PRIVATE_PREFIX, privateCopyPrefix, type Rules } from '../rules/rules.js';
import type { AuthenticatedUser, Authorizer } from './auth.js';

/**
 * What a user may do with a repository as the client names it, and where the server keeps
 * its events. Without rules the two names are the same; a private repository of the rules is
 * kept as the user's own copy (`~alice/todos` for alice's `todos`).
 */
export interface RepositoryAccess extends Access {
  /** Why the user may do nothing with it, when that is known (no rule, a malformed name). */
  reason?: string;
}

/** Decides access on every path of the engine: sockets, REST, and broadcasts of every node. */
export interface AccessPolicy {
  /** `rules` when the server applies a rules document, else `authorizer`. */
  readonly kind: 'rules' | 'authorizer';
  /** What `user` may do with `repository` (as the client names it), and where it is stored. */
  access(user: AuthenticatedUser, repository: string): Promise<RepositoryAccess>;
  /** The name clients know a stored repository by. */
  nameOf(stored: string): string;
  /** True when `user` can never read `stored` whatever it asks (another user's private copy). */
  neverReads(user: AuthenticatedUser, stored: string): boolean;
}

/** The policy of an `Authorizer`: the stored name is the client's. */
export function authorizerPolicy(authorizer: Authorizer): AccessPolicy {
  return {
    kind: 'authorizer',
    async access(user, repository) {
      const [read, write] = await Promise.all([
        authorizer.canRead(user, repository),
        authorizer.canWrite(user, repository),
      ]);
      return { stored: repository, read: read === true, write: write === true };
    },
    nameOf: (stored) => stored,
    neverReads: () => false,
  };
}

/** The policy of a rules document: deny what no rule allows. */
export function rulesPolicy(rules: Rules): AccessPolicy {
  return {
    kind: 'rules',
    async access(user, repository) {
      const access = await rules.access(user, repository);
      if (access) return access;
      return {
        stored: repository,
        read: false,
        write: false,
        reason: rules.refusal(repository),
      };
    },
    nameOf: privateCopyOwnerName,
    neverReads: isOthersPrivateCopy,
  };
}

/**
 * Under rules, the name a client uses for a stored repository: a private copy `~<user>/<name>`
 * is `<name>` to its owner; every other stored name is the client's own.
 */
export function privateCopyOwnerName(stored: string): string {
  if (!stored.startsWith(PRIVATE_PREFIX)) return stored;
  const slash = stored.indexOf('/');
  return slash < 0 ? stored : stored.slice(slash + 1);
}

/** True when `stored` is a private copy of someone other than `user`: none of theirs to read. */
export function isOthersPrivateCopy(user: AuthenticatedUser, stored: string): boolean {
  if (!stored.startsWith(PRIVATE_PREFIX)) return false;
  // Asked per reader of every broadcast: the user's prefix is encoded once per user object.
  let prefix = ownPrefixes.get(user);
  if (prefix === undefined) {
    prefix = privateCopyPrefix(user.userId);
    ownPrefixes.set(user, prefix);
  }
  return !stored.startsWith(prefix);
}

const ownPrefixes = new WeakMap<AuthenticatedUser, string>();
