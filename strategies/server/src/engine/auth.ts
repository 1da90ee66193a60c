import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Logger } from '@local-first/core';
import { errors as joseErrors, jwtVerify } from 'jose';

/** What a client presents: the token of its `auth` message or Bearer header, and headers. */
export interface Credentials {
  token: string | undefined;
  /** Headers of the HTTP upgrade (or REST request) merged with those of the `auth` message; lower-cased names. */
  headers: Readonly<Record<string, string>>;
}

/** Who a connection acts for, once authenticated. */
export interface AuthenticatedUser {
  /** Stable id of the user; sent back in `auth_success`. */
  userId: string;
  /** When the credentials stop being valid; the server closes the socket with 4401 then. */
  expiresAt?: Date;
  /** Anything the authorizer needs (roles, tenant…). */
  claims?: Readonly<Record<string, unknown>>;
}

/** Why credentials were refused; `code` goes to the client in `auth_failed`. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns credentials into a user, or throws `AuthenticationError`. */
export interface Authenticator {
  /** A short name for the start-up log (`none`, `tokens`, `jwt`). */
  readonly kind: string;
  authenticate(credentials: Credentials): Promise<AuthenticatedUser>;
}

/** Decides, per repository, what an authenticated user may do. */
export interface Authorizer {
  canRead(user: AuthenticatedUser, repository: string): boolean | Promise<boolean>;
  canWrite(user: AuthenticatedUser, repository: string): boolean | Promise<boolean>;
}

/** Everyone may read and write everything. */
export const allowAll: Authorizer = {
  canRead: () => true,
  canWrite: () => true,
};

/**
 * Accepts every connection as the user `anonymous`. For
 * development only: it logs a warning when created.
 */
export function noAuth(options: { logger?: Logger } = {}): Authenticator {
  options.logger?.warn(
    {},
    'authentication is off (auth "none"): every connection is accepted; use tokens or jwt in production',
  );
  return {
    kind: 'none',
    async authenticate() {
      return { userId: 'anonymous' };
    },
  };
}

/** The user a static token stands for: its id, or its id and the claims that rules read. */
export type StaticTokenUser =
  | string
  | { userId: string; claims?: Readonly<Record<string, unknown>> };

/** Accepts a fixed set of tokens, each naming its user (and, if given, the user's claims). */
export function staticTokens(tokens: Readonly<Record<string, StaticTokenUser>>): Authenticator {
  const users = new Map<string, AuthenticatedUser>();
  for (const [token, user] of Object.entries(tokens))
    users.set(token, typeof user === 'string' ? { userId: user } : { ...user });
  return {
    kind: 'tokens',
    async authenticate({ token }) {
      const user = token === undefined ? undefined : users.get(token);
      if (user === undefined) {
        throw new AuthenticationError(
          token === undefined ? 'missing_token' : 'invalid_token',
          'token not recognised',
        );
      }
      return { ...user };
    },
  };
}

/** Why a tokens file's content cannot be used, or undefined when it can. */
export function staticTokensProblem(tokens: unknown): string | undefined {
  if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens))
    return 'must be a JSON object mapping each token to a user id';
  for (const [token, user] of Object.entries(tokens)) {
    if (typeof user === 'string' && user !== '') continue;
    const value = user as { userId?: unknown; claims?: unknown } | null;
    const claims = value?.claims;
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof value.userId !== 'string' ||
      value.userId === '' ||
      Object.keys(value).some((key) => key !== 'userId' && key !== 'claims') ||
      (claims !== undefined &&
        (typeof claims !== 'object' || claims === null || Array.isArray(claims)))
    )
      return `the token "${token.slice(0, 8)}…" must map to a user id or to {"userId", "claims"}`;
  }
  return undefined;
}

/** Options of the JWT authenticator. */
export interface JwtAuthOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** RS256 public key (PEM) or key object. */
  publicKey?: string | KeyObject;
  /** Expected `iss`, when set. */
  issuer?: string;
  /** Expected `aud`, when set. */
  audience?: string;
  /** Claim that holds the user id. Default `sub`. */
  userClaim?: string;
  /** Tolerated clock difference in seconds. Default 5. */
  clockToleranceSeconds?: number;
}

export const DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Verifies JSON Web Tokens signed with HS256 (secret) or RS256 (public key). `exp` becomes the
 * session's expiry, so the socket closes with 4401 when the token runs out unless the client
 * re-authenticates first.
 */
export function jwtAuth(options: JwtAuthOptions): Authenticator {
  if (!options.secret === !options.publicKey) {
    throw new TypeError('jwtAuth needs exactly one of secret (HS256) or publicKey (RS256)');
  }
  const key: Uint8Array | KeyObject = options.secret
    ? new TextEncoder().encode(options.secret)
    : typeof options.publicKey === 'string'
      ? createPublicKey(options.publicKey)
      : options.publicKey!;
  const algorithms = options.secret ? ['HS256'] : ['RS256'];
  const userClaim = options.userClaim ?? 'sub';
  return {
    kind: 'jwt',
    async authenticate({ token }) {
      if (!token) throw new AuthenticationError('missing_token', 'a JWT is required');
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms,
          clockTolerance: options.clockToleranceSeconds ?? DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS,
          ...(options.issuer ? { issuer: options.issuer } : {}),
          ...(options.audience ? { audience: options.audience } : {}),
        });
        const userId = payload[userClaim];
        if (typeof userId !== 'string' || userId === '') {
          throw new AuthenticationError('invalid_token', `the token has no "${userClaim}" claim`);
        }
        return {
          userId,
          claims: payload,
          ...(typeof payload.exp === 'number' ? { expiresAt: new Date(payload.exp * 1000) } : {}),
        };
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        if (error instanceof joseErrors.JWTExpired)
          throw new AuthenticationError('token_expired', 'the token has expired');
        throw new AuthenticationError('invalid_token', 'the token could not be verified');
      }
    },
  };
}

/** Reads a Bearer token from an `authorization` header. */
export function bearerToken(headers: Readonly<Record<string, string>>): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return match?.[1]?.trim();
}
