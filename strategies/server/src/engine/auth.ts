import { createPublicKey, type KeyObject } from 'node:crypto';
import { ERROR_CODES, isLocalFirstError, LocalFirstError, type Logger } from '@local-first/core';
import { errors as joseErrors, jwtVerify } from 'jose';

/** What a client presents: the token of its `auth` message or Bearer header, and headers. */
export interface Credentials {
  /** The `auth` message's token, else the Bearer token of the headers. */
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

/**
 * The codes of `auth_failed` (and of a REST 401) that this package sends: a token that is
 * absent, not recognised or unverifiable, a JWT past its `exp`, and `auth_error` when the
 * authenticator itself failed. A custom authenticator may send codes of its own.
 */
export const AUTH_FAILURE_CODES = [
  'missing_token',
  'invalid_token',
  'token_expired',
  'auth_error',
] as const;
/** One of {@link AUTH_FAILURE_CODES}. */
export type AuthFailureCode = (typeof AUTH_FAILURE_CODES)[number];

/**
 * Why credentials were refused: a `LocalFirstError` with code `auth_failed`; `reason` (also
 * `details.reason`) goes to the client as the code of `auth_failed`.
 */
export class AuthenticationError extends LocalFirstError {
  /** The code the client gets in `auth_failed` (`invalid_token`, `token_expired`…). */
  readonly reason: string;
  constructor(reason: AuthFailureCode | (string & {}), message: string) {
    super(ERROR_CODES.authFailed, message, { details: { reason } });
    this.reason = reason;
  }
}

/**
 * The code and message an `auth_failed` carries for `error`, when it is a refusal (code
 * `auth_failed`; without a string `details.reason` the code is `invalid_token`); undefined for
 * any other error, which is the authenticator failing.
 */
export function refusalOf(error: unknown): { reason: string; message: string } | undefined {
  if (!isLocalFirstError(error, ERROR_CODES.authFailed)) return undefined;
  const reason = error.details?.reason;
  return {
    reason: typeof reason === 'string' && reason !== '' ? reason : 'invalid_token',
    message: error.message,
  };
}

/** Turns credentials into a user, or throws `AuthenticationError` (code `auth_failed`). */
export interface Authenticator {
  /** A short name for the start-up log (`none`, `tokens`, `jwt`). */
  readonly kind: string;
  /** The user the credentials stand for; rejects with an `AuthenticationError` to refuse them. */
  authenticate(credentials: Credentials): Promise<AuthenticatedUser>;
}

/** Decides, per repository, what an authenticated user may do. */
export interface Authorizer {
  /** True when `user` may catch up on and receive the events of `repository`. */
  canRead(user: AuthenticatedUser, repository: string): boolean | Promise<boolean>;
  /** True when `user` may push events to `repository`. */
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
  | {
      /** The user's id. */
      userId: string;
      /** What rules read about the user (`claim` conditions). */
      claims?: Readonly<Record<string, unknown>>;
    };

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

/** The `clockToleranceSeconds` when none is given. */
export const DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Verifies JSON Web Tokens signed with HS256 (secret) or RS256 (public key). `exp` becomes the
 * session's expiry, so the socket closes with 4401 when the token runs out unless the client
 * re-authenticates first.
 */
export function jwtAuth(options: JwtAuthOptions): Authenticator {
  if (!options.secret === !options.publicKey) {
    throw new LocalFirstError(
      ERROR_CODES.invalidArgument,
      'jwtAuth needs exactly one of secret (HS256) or publicKey (RS256)',
    );
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
