import fc from 'fast-check';

/**
 * The scenarios of the isolation property test, and a model of what the rules allow that is
 * written from the README's description of rules, not from `Rules`: the test checks the
 * server against it.
 */

const USER_IDS = ['alice', 'bob', 'carol', 'dave'] as const;
const PROJECTS = ['p1', 'p2', 'p3'] as const;
const ORGS = ['acme', 'initech'] as const;

/** Names the building blocks of rules may allow. */
const RULED = [
  'todos',
  'projects/p1',
  'projects/p2',
  'projects/p3',
  'announcements',
  'shared',
  'team/acme',
  'team/initech',
] as const;
/** Names no rule allows: unknown, of another shape, crafted, or another user's stored copy. */
const UNRULED = [
  'projects/p9',
  'nowhere',
  'projects',
  'todos/',
  '~alice/todos',
  '~bob/todos',
  '../x',
  'projects/../todos',
] as const;
/** Every name a scenario reads and writes. */
export const NAMES: readonly string[] = [...RULED, ...UNRULED];

export type Condition =
  | 'anyone'
  | { users: string[] }
  | { claim: string; includes: string }
  | { claim: string; equals: string }
  | { anyOf: Condition[] };

/** A rule as the rules file holds it. */
export interface Rule {
  repository: string;
  private?: true;
  read?: Condition;
  write?: Condition;
}

export interface Claims {
  projects: string[];
  editorOf: string[];
  org?: string;
}

export interface User {
  userId: string;
  token: string;
  /** None: the tokens file maps the token to the bare user id. */
  claims: Claims | undefined;
}

export interface ConnectionSpec {
  /** Its index in `Scenario.connections`, and its name in reports. */
  index: number;
  label: string;
  user: User;
  transport: 'ws' | 'socketio';
  node: number;
}

export interface Write {
  /** Its index over the whole scenario; the event's `data.write` names it. */
  index: number;
  user: User;
  name: string;
  via: { kind: 'socket'; connection: ConnectionSpec } | { kind: 'rest'; node: number };
  /** `push_events_batch` or `POST …/batch` instead of the single-event forms. */
  batch: boolean;
  /** Fresh, or the id of a write of an earlier round (to another stream, or the same). */
  eventId: string;
}

export interface Scenario {
  users: User[];
  rules: Rule[];
  connections: ConnectionSpec[];
  /** Run one after the other; the writes of one round run concurrently. */
  rounds: Write[][];
}

/** What a user may do with a name, and which stream it is (a private one is per user). */
export interface ModelAccess {
  read: boolean;
  write: boolean;
  /** The stream the name stands for, for a user who may read or write it. */
  stream: string | undefined;
}

const DENIED: ModelAccess = { read: false, write: false, stream: undefined };

/** The README: a leading `~`, an empty, `.` or `..` segment, or a control character. */
function refusedName(name: string): boolean {
  if (name.startsWith('~')) return true;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return true;
  return name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
}

function holds(condition: Condition, user: User, values: Record<string, string>): boolean {
  if (condition === 'anyone') return true;
  if ('users' in condition) return condition.users.includes(user.userId);
  if ('anyOf' in condition) return condition.anyOf.some((inner) => holds(inner, user, values));
  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (_, key: string) => values[key]!);
  const claim = (user.claims as Record<string, unknown> | undefined)?.[condition.claim];
  if ('includes' in condition)
    return Array.isArray(claim) && claim.includes(fill(condition.includes));
  return claim === fill(condition.equals);
}

/** The first rule whose pattern matches decides; no rule, no access. */
export function modelAccess(rules: readonly Rule[], user: User, name: string): ModelAccess {
  if (refusedName(name)) return DENIED;
  const segments = name.split('/');
  for (const rule of rules) {
    const pattern = rule.repository.split('/');
    if (pattern.length !== segments.length) continue;
    const values: Record<string, string> = { userId: user.userId };
    const matches = pattern.every((part, index) => {
      const parameter = /^\{(\w+)\}$/.exec(part)?.[1];
      if (parameter === undefined) return part === segments[index];
      values[parameter] = segments[index]!;
      return true;
    });
    if (!matches) continue;
    if (rule.private) return { read: true, write: true, stream: `${user.userId}'s own ${name}` };
    const write = rule.write !== undefined && holds(rule.write, user, values);
    const read = write || (rule.read !== undefined && holds(rule.read, user, values));
    return { read, write, stream: read || write ? `shared ${name}` : undefined };
  }
  return DENIED;
}

/**
 * What each write must get: `forbiddenOrDuplicate` is a refused write of an event that the
 * stream, which the writer may read, already holds (the engine acknowledges it as held).
 */
export type Verdict = 'stored' | 'duplicate' | 'forbidden' | 'forbiddenOrDuplicate';

export interface Expectation {
  verdicts: Verdict[];
  /** Per stream, its events: eventId → index of the write whose event the stream keeps. */
  holders: Map<string, Map<string, number>>;
  access(user: User, name: string): ModelAccess;
}

export function expectationOf(scenario: Scenario): Expectation {
  const access = (user: User, name: string) => modelAccess(scenario.rules, user, name);
  const verdicts: Verdict[] = [];
  const holders = new Map<string, Map<string, number>>();
  for (const round of scenario.rounds) {
    // Writes of one round see only earlier rounds: their ids are distinct within a round.
    const stored: [string, Write][] = [];
    for (const write of round) {
      const { read, write: may, stream } = access(write.user, write.name);
      const held = stream !== undefined && holders.get(stream)?.has(write.eventId) === true;
      if (may) {
        verdicts[write.index] = held ? 'duplicate' : 'stored';
        if (!held) stored.push([stream!, write]);
      } else {
        // Over a socket and over REST alike, a refused repeat of an event the stream holds
        // may be answered as its duplicate, to a user who may read the stream.
        const maybeHeld = held && read;
        verdicts[write.index] = maybeHeld ? 'forbiddenOrDuplicate' : 'forbidden';
      }
    }
    for (const [stream, write] of stored) {
      if (!holders.has(stream)) holders.set(stream, new Map());
      holders.get(stream)!.set(write.eventId, write.index);
    }
  }
  return { verdicts, holders, access };
}

// --- Arbitraries -----------------------------------------------------------------------

const someUsers = fc.subarray([...USER_IDS]);
const simpleCondition: fc.Arbitrary<Condition> = fc.oneof(
  fc.constant('anyone' as const),
  someUsers.map((users) => ({ users })),
  fc.record({
    claim: fc.constantFrom('projects', 'editorOf'),
    includes: fc.constantFrom(...PROJECTS),
  }),
  fc.record({ claim: fc.constant('org'), equals: fc.constantFrom(...ORGS) }),
);
const anyOf = (inner: fc.Arbitrary<Condition>) =>
  fc.array(inner, { minLength: 1, maxLength: 3 }).map((list) => ({ anyOf: list }));
const condition = fc.oneof(
  simpleCondition,
  anyOf(fc.oneof(simpleCondition, anyOf(simpleCondition))),
);

/** `read`, `write` or both. */
function access(read: fc.Arbitrary<Condition>, write: fc.Arbitrary<Condition>) {
  return fc
    .record({
      read: fc.option(read, { nil: undefined }),
      write: fc.option(write, { nil: undefined }),
    })
    .filter((rule) => rule.read !== undefined || rule.write !== undefined)
    .map((rule) => JSON.parse(JSON.stringify(rule)) as Pick<Rule, 'read' | 'write'>);
}

const projectReader = { claim: 'projects', includes: '{projectId}' };
const projectEditor = { claim: 'editorOf', includes: '{projectId}' };
const member = { claim: 'org', equals: '{org}' };

/** A rules document drawn from building blocks, in any order (the first match decides). */
const rulesArbitrary: fc.Arbitrary<Rule[]> = fc
  .tuple(
    fc.constant<Rule>({ repository: 'todos', private: true }),
    access(condition, condition).map((rule): Rule => ({ repository: 'todos', ...rule })),
    access(
      fc.constant(projectReader),
      fc.constantFrom(projectEditor, { anyOf: [projectEditor, { users: ['dave'] }] }),
    ).map((rule): Rule => ({ repository: 'projects/{projectId}', ...rule })),
    someUsers.map(
      (users): Rule => ({ repository: 'announcements', read: 'anyone', write: { users } }),
    ),
    access(anyOf(condition), condition).map((rule): Rule => ({ repository: 'shared', ...rule })),
    access(fc.constant(member), fc.constant({ anyOf: [member, { users: ['alice'] }] })).map(
      (rule): Rule => ({ repository: 'team/{org}', ...rule }),
    ),
  )
  .chain((blocks) => fc.shuffledSubarray(blocks, { minLength: 4 }));

const claimsArbitrary = fc.option(
  fc.record(
    {
      projects: fc.subarray([...PROJECTS]),
      editorOf: fc.subarray([...PROJECTS]),
      org: fc.constantFrom(...ORGS),
    },
    { requiredKeys: ['projects', 'editorOf'] },
  ),
  { nil: undefined, freq: 5 },
);

const writeArbitrary = fc.record({
  user: fc.nat(),
  name: fc.oneof(
    { arbitrary: fc.constantFrom(...RULED), weight: 3 },
    { arbitrary: fc.constantFrom(...UNRULED), weight: 1 },
  ),
  rest: fc.boolean(),
  pick: fc.nat(),
  batch: fc.boolean(),
  // The eventId of an earlier write, in its repository name or in this one.
  reuse: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.record({ write: fc.nat(), sameName: fc.boolean() }), weight: 1 },
  ),
});

/** 2–4 users with 1–2 connections each (over `nodes` nodes), 2–4 rounds of 5–10 writes. */
export function scenarioArbitrary(nodes: number): fc.Arbitrary<Scenario> {
  const userArbitrary = fc.record({
    claims: claimsArbitrary,
    transports: fc.array(fc.constantFrom('ws' as const, 'socketio' as const), {
      minLength: 1,
      maxLength: 2,
    }),
    firstNode: fc.nat(nodes - 1),
  });
  return fc
    .record({
      userIds: fc.uniqueArray(fc.constantFrom(...USER_IDS), { minLength: 2, maxLength: 4 }),
      specs: fc.array(userArbitrary, { minLength: 4, maxLength: 4 }),
      rules: rulesArbitrary,
      rounds: fc.array(fc.array(writeArbitrary, { minLength: 5, maxLength: 10 }), {
        minLength: 2,
        maxLength: 4,
      }),
    })
    .map(({ userIds, specs, rules, rounds }) => {
      const users = userIds.map((userId, u) => ({
        userId,
        token: `token-${userId}`,
        claims: specs[u]!.claims as Claims | undefined,
      }));
      const connections: ConnectionSpec[] = [];
      const ofUser = users.map((user, u) =>
        specs[u]!.transports.map((transport, k) => {
          const node = (specs[u]!.firstNode + k) % nodes;
          const index = connections.length;
          const label = `#${index} ${user.userId} ${transport}@node${node}`;
          const spec: ConnectionSpec = { index, label, user, transport, node };
          connections.push(spec);
          return spec;
        }),
      );
      let index = 0;
      const earlier: Write[] = [];
      const planned = rounds.map((round) => {
        const used = new Set<string>();
        const writes = round.map((drawn): Write => {
          const u = drawn.user % users.length;
          const { reuse } = drawn;
          const before =
            reuse && earlier.length > 0 ? earlier[reuse.write % earlier.length] : undefined;
          // Ids stay distinct within a round: which of two equal ones is stored first is luck.
          const reused = before !== undefined && !used.has(before.eventId);
          const eventId = reused ? before.eventId : `e${index}`;
          used.add(eventId);
          const mine = ofUser[u]!;
          return {
            index: index++,
            user: users[u]!,
            name: reused && reuse!.sameName ? before.name : drawn.name,
            via: drawn.rest
              ? { kind: 'rest', node: drawn.pick % nodes }
              : { kind: 'socket', connection: mine[drawn.pick % mine.length]! },
            batch: drawn.batch,
            eventId,
          };
        });
        earlier.push(...writes);
        return writes;
      });
      const scenario: Scenario = { users, rules, connections, rounds: planned };
      // The counterexample fast-check prints: short, one line per write.
      return printable(scenario);
    });
}

/** The counterexample fast-check prints: short, one line per round. */
function printable(scenario: Scenario): Scenario {
  return Object.assign(scenario, { [fc.toStringMethod]: () => describeScenario(scenario) });
}

/**
 * A scenario run before the random ones: events with the same id in two users' private
 * copies, and writes that name a stream the writer may not read which holds the event.
 */
export function probingScenario(nodes: number): Scenario {
  const alice: User = { userId: 'alice', token: 'token-alice', claims: undefined };
  const bob: User = {
    userId: 'bob',
    token: 'token-bob',
    claims: { projects: ['p1'], editorOf: ['p1'] },
  };
  const connections: ConnectionSpec[] = [
    { index: 0, label: '#0 alice ws@node0', user: alice, transport: 'ws', node: 0 },
    {
      index: 1,
      label: `#1 bob socketio@node${nodes - 1}`,
      user: bob,
      transport: 'socketio',
      node: nodes - 1,
    },
  ];
  let index = 0;
  const write = (
    user: User,
    name: string,
    eventId: string,
    connection?: ConnectionSpec,
  ): Write => ({
    index: index++,
    user,
    name,
    via: connection ? { kind: 'socket', connection } : { kind: 'rest', node: 0 },
    batch: false,
    eventId,
  });
  const [viaAlice, viaBob] = connections;
  return printable({
    users: [alice, bob],
    rules: [
      { repository: 'todos', private: true },
      { repository: 'projects/{projectId}', read: projectReader, write: projectEditor },
    ],
    connections,
    rounds: [
      [write(bob, 'todos', 'e0', viaBob), write(bob, 'projects/p1', 'e1')],
      [
        write(alice, '~bob/todos', 'e0', viaAlice),
        write(alice, 'projects/p1', 'e1', viaAlice),
        write(alice, 'todos', 'e0'),
        write(bob, 'projects/p1', 'e1', viaBob),
      ],
      [write(alice, '~bob/todos', 'e0'), write(alice, 'todos', 'e0', viaAlice)],
    ],
  });
}

/** The tokens file of a scenario: bare user ids, or ids with claims. */
export function tokensOf(scenario: Scenario): Record<string, unknown> {
  return Object.fromEntries(
    scenario.users.map((user) => [
      user.token,
      user.claims ? { userId: user.userId, claims: user.claims } : user.userId,
    ]),
  );
}

function describeScenario(scenario: Scenario): string {
  const users = scenario.users.map(
    (user) => `${user.userId} ${user.claims ? JSON.stringify(user.claims) : '(no claims)'}`,
  );
  return [
    `users: ${users.join('; ')}`,
    `rules: ${JSON.stringify(scenario.rules)}`,
    `connections: ${scenario.connections.map((connection) => connection.label).join(', ')}`,
    ...scenario.rounds.map(
      (round, index) => `round ${index + 1}: ${round.map(describeWrite).join('; ')}`,
    ),
  ].join('\n');
}

/** The node a write went through. */
export function nodeOf(write: Write): number {
  return write.via.kind === 'rest' ? write.via.node : write.via.connection.node;
}

/** A short account of a write for reports. */
export function describeWrite(write: Write): string {
  const via = write.via.kind === 'rest' ? `REST@node${write.via.node}` : write.via.connection.label;
  return `write ${write.index} (${write.user.userId} → "${write.name}", ${write.eventId}, via ${via})`;
}
