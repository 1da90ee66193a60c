import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLocalFirstError } from '@local-first/core';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  AUTH_FAILURE_CODES,
  AuthenticationError,
  bearerToken,
  jwtAuth,
  noAuth,
  staticTokens,
} from '../src/engine/index.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const NOW = Math.floor(Date.parse('2030-01-01T00:00:00.000Z') / 1000);

async function hs256(claims: Record<string, unknown>, expiresAt?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (expiresAt !== undefined) jwt.setExpirationTime(expiresAt);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

const noHeaders = {};

describe('authenticators', () => {
  it('none accepts everyone and warns once at creation', async () => {
    const warnings: string[] = [];
    const auth = noAuth({
      logger: {
        debug() {},
        info() {},
        warn: (_context, message) => warnings.push(message),
        error() {},
      },
    });
    expect(await auth.authenticate({ token: undefined, headers: noHeaders })).toEqual({
      userId: 'anonymous',
    });
    expect(warnings).toHaveLength(1);
  });

  it('static tokens map tokens to users and refuse the rest with a code', async () => {
    const auth = staticTokens({ t1: 'alice' });
    expect(await auth.authenticate({ token: 't1', headers: noHeaders })).toEqual({
      userId: 'alice',
    });
    await expect(auth.authenticate({ token: 'nope', headers: noHeaders })).rejects.toMatchObject({
      code: 'auth_failed',
      reason: 'invalid_token',
    });
    await expect(auth.authenticate({ token: undefined, headers: noHeaders })).rejects.toMatchObject(
      { code: 'auth_failed', reason: 'missing_token' },
    );
  });

  it('JWT HS256: the subject becomes the user and exp the session expiry', async () => {
    const auth = jwtAuth({ secret: SECRET });
    const token = await hs256({ sub: 'alice', role: 'admin' }, NOW + 3600);
    const user = await auth.authenticate({ token, headers: noHeaders });
    expect(user.userId).toBe('alice');
    expect(user.expiresAt?.toISOString()).toBe('2030-01-01T01:00:00.000Z');
    expect(user.claims).toMatchObject({ role: 'admin' });
  });

  it('JWT refuses expired, wrongly signed, subject-less and missing tokens with distinct codes', async () => {
    const auth = jwtAuth({ secret: SECRET });
    const expired = await hs256({ sub: 'alice' }, Math.floor(Date.now() / 1000) - 60);
    await expect(auth.authenticate({ token: expired, headers: noHeaders })).rejects.toMatchObject({
      code: 'auth_failed',
      reason: 'token_expired',
    });
    const forged = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-entirely-0123456789'));
    await expect(auth.authenticate({ token: forged, headers: noHeaders })).rejects.toMatchObject({
      code: 'auth_failed',
      reason: 'invalid_token',
    });
    const anonymous = await hs256({ role: 'x' });
    await expect(auth.authenticate({ token: anonymous, headers: noHeaders })).rejects.toMatchObject(
      { code: 'auth_failed', reason: 'invalid_token' },
    );
    await expect(
      auth.authenticate({ token: 'not.a.jwt', headers: noHeaders }),
    ).rejects.toMatchObject({ code: 'auth_failed', reason: 'invalid_token' });
    await expect(auth.authenticate({ token: undefined, headers: noHeaders })).rejects.toMatchObject(
      { code: 'auth_failed', reason: 'missing_token' },
    );
  });

  it('JWT RS256 verifies with the public key and refuses HS256 tokens', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const auth = jwtAuth({
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    const token = await new SignJWT({ sub: 'bob' })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    expect((await auth.authenticate({ token, headers: noHeaders })).userId).toBe('bob');
    await expect(
      auth.authenticate({ token: await hs256({ sub: 'bob' }), headers: noHeaders }),
    ).rejects.toMatchObject({
      code: 'auth_failed',
      reason: 'invalid_token',
    });
  });

  it('needs exactly one key and reads Bearer headers', () => {
    expect(() => jwtAuth({})).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(bearerToken({ authorization: 'Bearer abc' })).toBe('abc');
    expect(bearerToken({ authorization: 'Basic abc' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });

  it('refuses with a LocalFirstError auth_failed whose reason is the code of auth_failed', async () => {
    const error = await staticTokens({})
      .authenticate({ token: 'nope', headers: noHeaders })
      .catch((caught: unknown) => caught);
    expect(isLocalFirstError(error, 'auth_failed')).toBe(true);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ details: { reason: 'invalid_token' } });
    expect(new AuthenticationError('suspended', 'the account is suspended')).toMatchObject({
      name: 'LocalFirstError',
      code: 'auth_failed',
      reason: 'suspended',
      details: { reason: 'suspended' },
    });
  });
});

describe('the auth_failed codes in core/ERRORS.md', () => {
  it('lists every code of AUTH_FAILURE_CODES once, and no other', () => {
    const text = readFileSync(new URL('../../../core/ERRORS.md', import.meta.url), 'utf8');
    const sections = text
      .split(/^## /m)
      .filter((section) => section.split('\n')[0]!.includes('`AUTH_FAILURE_CODES`'));
    expect(sections).toHaveLength(1);
    const listed = [...sections[0]!.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual([...AUTH_FAILURE_CODES].sort());
  });
});
