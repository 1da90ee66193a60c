import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type SyncEngine, staticTokens } from '../src/engine/index.js';
import { Rules, type RulesDocument } from '../src/rules/rules.js';
import {
  authenticated,
  event,
  type Message,
  makeEngine,
  settle,
  type TestClient,
} from './engine-fixtures.js';

const DOCUMENT: RulesDocument = {
  repositories: [
    { repository: 'todos', private: true },
    {
      repository: 'projects/{projectId}',
      read: { claim: 'projects', includes: '{projectId}' },
      write: { claim: 'editorOf', includes: '{projectId}' },
    },
    { repository: 'announcements', read: 'anyone', write: { users: ['admin'] } },
  ],
};

const TOKENS = {
  'token-alice': { userId: 'alice', claims: { projects: ['p1'], editorOf: ['p1'] } },
  'token-alice-viewer': { userId: 'alice', claims: { projects: [], editorOf: [] } },
  'token-bob': { userId: 'bob', claims: { projects: ['p1'] } },
  'token-admin': 'admin',
};

// Printed so that any run can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[rules-engine] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

let engines: SyncEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  engines = [];
});

async function start(document: RulesDocument = DOCUMENT) {
  const made = await makeEngine({
    authenticator: staticTokens(TOKENS),
    rules: Rules.compile(document, 'test rules'),
  });
  engines.push(made.engine);
  return made;
}

/** Asks for a repository from the start; resolves with its events, or the error that came. */
async function catchUp(client: TestClient, repository: string) {
  const requestId = `read-${repository}-${Math.random()}`;
  client.send({ type: 'request_events', repository, requestId });
  const ids: string[] = [];
  for (;;) {
    const message = await client.nextWhere(
      (candidate) => candidate.requestId === requestId,
      `answer to the catch-up of "${repository}"`,
    );
    if (message.type === 'error') return { error: message, ids };
    if (message.type === 'sync_complete') return { ids };
    expect(message.repository).toBe(repository);
    for (const item of message.events as { eventId: string }[]) ids.push(item.eventId);
  }
}

async function push(client: TestClient, repository: string, ...ids: string[]) {
  client.send({ type: 'push_events_batch', repository, events: ids.map((id) => event(id)) });
  return client.next('ack');
}

function liveIds(client: TestClient): string[] {
  return client.inbox
    .filter((message) => message.type === 'events' && message.hasMore === undefined)
    .flatMap((message) => (message.events as { eventId: string }[]).map((item) => item.eventId));
}

describe('rules in the engine', () => {
  it('keeps a private repository per user under the name the client uses', async () => {
    const { engine, store } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const aliceElsewhere = await authenticated(engine, 'token-alice');
    const bob = await authenticated(engine, 'token-bob');
    for (const client of [alice, aliceElsewhere, bob]) await catchUp(client, 'todos');
    const ack = await push(alice, 'todos', 'a1');
    expect(ack).toMatchObject({ eventIds: ['a1'], repositories: { todos: ['a1'] } });
    expect(await push(bob, 'todos', 'b1')).toMatchObject({ repositories: { todos: ['b1'] } });
    await settle(aliceElsewhere);
    await settle(bob);
    expect(liveIds(aliceElsewhere)).toEqual(['a1']);
    expect(liveIds(bob)).toEqual([]);
    const live = aliceElsewhere.inbox.find((message) => message.type === 'events');
    expect(live?.repository).toBe('todos');
    expect((await catchUp(alice, 'todos')).ids).toEqual(['a1']);
    expect((await catchUp(bob, 'todos')).ids).toEqual(['b1']);
    expect((await store.listRepositories()).sort()).toEqual(['~alice/todos', '~bob/todos']);
  });

  it('serves request_all_events with what each user reads, by the client names', async () => {
    const { engine } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const bob = await authenticated(engine, 'token-bob');
    const admin = await authenticated(engine, 'token-admin');
    await push(alice, 'todos', 'a1');
    await push(bob, 'todos', 'b1');
    await push(alice, 'projects/p1', 'p1');
    await push(admin, 'announcements', 'n1');
    const all = async (client: TestClient) => {
      client.send({ type: 'request_all_events', requestId: 'all' });
      const seen: Record<string, string[]> = {};
      for (;;) {
        const message = await client.nextWhere((m) => m.requestId === 'all', 'all events');
        if (message.type === 'sync_complete' && message.repository === undefined) return seen;
        if (message.type !== 'events') continue;
        const names = (message.events as { eventId: string }[]).map((item) => item.eventId);
        seen[message.repository as string] = [
          ...(seen[message.repository as string] ?? []),
          ...names,
        ];
      }
    };
    expect(await all(alice)).toEqual({
      todos: ['a1'],
      'projects/p1': ['p1'],
      announcements: ['n1'],
    });
    expect(await all(bob)).toEqual({ todos: ['b1'], 'projects/p1': ['p1'], announcements: ['n1'] });
    expect(await all(admin)).toEqual({ announcements: ['n1'] });
  });

  it('lets members read, editors write, and refuses the others with a final verdict', async () => {
    const { engine } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const bob = await authenticated(engine, 'token-bob');
    expect((await catchUp(bob, 'projects/p1')).error).toBeUndefined();
    const refused = await push(bob, 'projects/p1', 'b1');
    expect(refused).toMatchObject({
      eventIds: [],
      rejected: [{ eventId: 'b1', code: 'forbidden', message: 'no write access to "projects/p1"' }],
    });
    await push(alice, 'projects/p1', 'a1');
    await settle(bob);
    expect(liveIds(bob)).toEqual(['a1']);
    const outsider = await catchUp(bob, 'projects/p2');
    expect(outsider.error).toMatchObject({ code: 'forbidden', repository: 'projects/p2' });
  });

  it('denies what no rule names, and refuses crafted names with a reason', async () => {
    const { engine, store } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const bob = await authenticated(engine, 'token-bob');
    await push(bob, 'todos', 'b1');
    const crafted = [
      ['~bob/todos', 'reserved for private copies'],
      ['../todos', '".." segment'],
      ['todos/', 'empty segment'],
      ['to\u0000dos', 'control character'],
      ['elsewhere', 'no rule allows "elsewhere"'],
      ['projects/./p1', '"." segment'],
    ] as const;
    for (const [name, reason] of crafted) {
      const answer = await catchUp(alice, name);
      expect(answer.error?.code, name).toBe('forbidden');
      expect(answer.error?.message, name).toContain(reason);
      const ack = await push(alice, name, `x-${name}`);
      expect(ack.rejected, name).toEqual([
        { eventId: `x-${name}`, code: 'forbidden', message: expect.stringContaining(reason) },
      ]);
    }
    // Unicode is a name like any other, and still needs a rule.
    expect((await catchUp(alice, 'tâches')).error?.message).toContain('no rule allows');
    expect((await store.listRepositories()).sort()).toEqual(['~bob/todos']);
    expect((await catchUp(bob, 'todos')).ids).toEqual(['b1']);
  });

  it('never answers "duplicate" about a stream the pusher may not read', async () => {
    const { engine } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const bob = await authenticated(engine, 'token-bob');
    await push(bob, 'todos', 'secret');
    await push(alice, 'projects/p1', 'p-1');
    for (const name of ['~bob/todos', 'projects/p2']) {
      const probe = await push(alice, name, 'secret');
      expect(probe, name).toMatchObject({ eventIds: [], rejected: [{ code: 'forbidden' }] });
      expect(probe.duplicates, name).toBeUndefined();
    }
    // A reader who may no longer write still hears that the log has its event.
    expect(await push(bob, 'projects/p1', 'p-1')).toMatchObject({ duplicates: ['p-1'] });
  });

  it('revokes what a re-auth with other claims takes away, and refuses its writes', async () => {
    const { engine } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const editor = await authenticated(engine, 'token-alice');
    await catchUp(alice, 'projects/p1');
    await catchUp(alice, 'todos');
    alice.send({ type: 'auth', token: 'token-alice-viewer', requestId: 'again' });
    expect(await alice.next('auth_success')).toMatchObject({ requestId: 'again' });
    expect(await alice.next('access_revoked')).toEqual({
      type: 'access_revoked',
      repository: 'projects/p1',
    });
    await push(editor, 'projects/p1', 'e1');
    await settle(alice);
    expect(liveIds(alice)).toEqual([]);
    const refused = await push(alice, 'projects/p1', 'a2');
    expect(refused.rejected).toEqual([
      { eventId: 'a2', code: 'forbidden', message: 'no write access to "projects/p1"' },
    ]);
    // Nothing else was revoked: the private list is still hers.
    expect(alice.inbox.filter((message: Message) => message.type === 'access_revoked')).toEqual([]);
  });

  it('revokes on new rules, for every open connection that had a copy', async () => {
    const { engine } = await start();
    const bob = await authenticated(engine, 'token-bob');
    const alice = await authenticated(engine, 'token-alice');
    await catchUp(bob, 'announcements');
    await catchUp(bob, 'projects/p1');
    await catchUp(alice, 'announcements');
    engine.setRules(
      Rules.compile(
        { repositories: [{ repository: 'announcements', read: { users: ['alice'] } }] },
        'new rules',
      ),
    );
    const revoked = [await bob.next('access_revoked'), await bob.next('access_revoked')];
    expect(revoked.map((message) => message.repository).sort()).toEqual([
      'announcements',
      'projects/p1',
    ]);
    await settle(alice);
    expect(alice.inbox.filter((message) => message.type === 'access_revoked')).toEqual([]);
    expect((await catchUp(bob, 'announcements')).error?.code).toBe('forbidden');
  });

  it('refuses rules and an authorizer together with invalid_argument', async () => {
    await expect(
      makeEngine({
        rules: Rules.compile(DOCUMENT, 'test'),
        authorizer: { canRead: () => true, canWrite: () => true },
      }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching('not both'),
    });
  });

  it('fuzz: crafted names get a clear answer, store nothing outside the rules, harm no one', async () => {
    const { engine, store } = await start();
    const alice = await authenticated(engine, 'token-alice');
    const bob = await authenticated(engine, 'token-bob');
    await push(bob, 'todos', 'b1');
    const segment = fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '',
        '~bob',
        '~alice',
        'todos',
        'projects',
        'p1',
        '%2e%2e',
        '\u0000',
      ),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    const name = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
      fc.string({ unit: 'grapheme', minLength: 200, maxLength: 320 }),
    );
    const allowed = new Set(['todos', 'projects/p1', 'announcements']);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(name, async (repository) => {
        const id = `fuzz-${++round}`;
        alice.send({ type: 'request_events', repository, requestId: `${id}-read` });
        const read = await alice.nextWhere((m) => m.requestId === `${id}-read`, 'the read answer');
        alice.send({ type: 'push_event', repository, event: event(id), requestId: `${id}-push` });
        const pushed = await alice.nextWhere(
          (m) => m.requestId === `${id}-push`,
          'the push answer',
        );
        const report = { repository, read, pushed };
        if (allowed.has(repository)) {
          expect(read.type, JSON.stringify(report)).toMatch(/^(events|sync_complete)$/);
          return;
        }
        if (read.type === 'error') expect(read.code).toMatch(/^(forbidden|invalid_message)$/);
        else expect.fail(`read of a name no rule allows was served: ${JSON.stringify(report)}`);
        if (pushed.type === 'error') expect(pushed.code).toBe('invalid_message');
        else expect(pushed.rejected, JSON.stringify(report)).toMatchObject([{ code: 'forbidden' }]);
        expect(typeof (read.message ?? '')).toBe('string');
      }),
      { seed, numRuns: 200 },
    );
    const stored = await store.listRepositories();
    expect(
      stored.filter((name) => !['~bob/todos', '~alice/todos', 'projects/p1'].includes(name)),
    ).toEqual([]);
    expect((await catchUp(bob, 'todos')).ids).toEqual(['b1']);
  });
});
