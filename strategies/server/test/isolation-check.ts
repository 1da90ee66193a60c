import { event } from './engine-fixtures.js';
import type { Message } from './helpers.js';
import {
  describeWrite,
  type Expectation,
  expectationOf,
  NAMES,
  nodeOf,
  type Scenario,
  type User,
  type Verdict,
  type Write,
} from './isolation-model.js';
import {
  Arrivals,
  difference,
  keyOf,
  type NodeAddress,
  Peer,
  type WireEvent,
  writeOfKey,
} from './isolation-peers.js';

/** Every message type a connection of the scenario may get; anything else is reported. */
const EXPECTED_TYPES = new Set(['auth_success', 'ack', 'events', 'sync_complete', 'error']);

type Answer = { status: number; body: Record<string, unknown> };

/**
 * Runs a scenario against running nodes and returns every way the server strayed from the
 * model (empty when it did not):
 * (a) no connection gets, live or in a catch-up, an event its user may not read in that stream;
 * (b) every stored event reaches every other connection of every reader live, and every
 *     connection in its final catch-ups;
 * (c) every write the model forbids is refused (ack.rejected forbidden, REST 403) and stored
 *     nowhere (a repeat of an event the stream holds may be answered as its duplicate instead);
 * (d) `events` name repositories as the client does (`todos`, never `~alice/todos`);
 * and REST reads of every user agree with the model.
 */
export async function checkIsolation(
  scenario: Scenario,
  nodes: readonly NodeAddress[],
): Promise<{ problems: string[]; crossed: number }> {
  const model = expectationOf(scenario);
  const problems: string[] = [];
  const arrivals = new Arrivals();
  const peers: Peer[] = [];
  let crossed = 0;
  try {
    for (const spec of scenario.connections)
      peers.push(await Peer.open(spec, nodes[spec.node]!, arrivals));
    await exchange(peers, arrivals, 'auth_success', (peer) => {
      peer.send({ type: 'auth', token: peer.spec.user.token, requestId: 'auth' });
      return ['auth'];
    });
    for (const peer of peers)
      if (peer.answer('auth')!.type !== 'auth_success')
        problems.push(`${peer.spec.label}: auth answered ${JSON.stringify(peer.answer('auth'))}`);

    // Every connection follows every name: readable ones answer, the others are refused.
    await readEveryName(peers, arrivals, 'subscribe', model, problems, () => []);

    for (const round of scenario.rounds)
      await runRound(round, peers, nodes, arrivals, model, problems);

    const writes = scenario.rounds.flat();
    const live = expectedLive(writes, model, peers);
    const report = (peer: Peer, index: number, keys: Iterable<string>) =>
      difference(`${peer.spec.label} live`, keys, live[index]!.required, live[index]!.optional);
    // Not fatal: what the catch-ups and REST reads find is worth reporting with it.
    const arrived = await arrivals
      .until(
        () =>
          peers.every((peer, index) => {
            const keys = new Set(peer.keys(undefined));
            return live[index]!.required.every((key) => keys.has(key));
          }),
        'live delivery of every stored event to every reader',
        () =>
          peers
            .map((peer, index) => report(peer, index, peer.keys(undefined)))
            .filter((line) => line !== undefined)
            .join('; '),
      )
      .then(
        () => true,
        (error: Error) => {
          problems.push(error.message);
          return false;
        },
      );
    for (const [index, peer] of peers.entries()) {
      for (const key of live[index]!.required)
        if (nodeOf(writes[writeOfKey(key)]!) !== peer.spec.node) crossed += 1;
      const keys = peer.keys(undefined);
      const twice = keys.filter((key, at) => keys.indexOf(key) !== at);
      if (twice.length > 0)
        problems.push(`${peer.spec.label} got live more than once: ${twice.join(', ')}`);
      const seen = arrived ? report(peer, index, new Set(keys)) : undefined;
      if (seen) problems.push(seen);
    }

    // Final catch-ups: everything at once, then name by name.
    await exchange(
      peers,
      arrivals,
      'end of request_all_events',
      (peer) => {
        peer.send({ type: 'request_all_events', requestId: 'all' });
        return ['all'];
      },
      true,
    );
    for (const peer of peers) {
      const wanted = NAMES.flatMap((name) => streamKeys(model, peer.spec.user, name));
      const seen = difference(`${peer.spec.label} request_all_events`, peer.keys('all'), wanted);
      if (seen) problems.push(seen);
    }
    await readEveryName(peers, arrivals, 'final', model, problems, (user, name) =>
      streamKeys(model, user, name),
    );

    await checkRestReads(scenario, nodes, model, problems);
    for (const peer of peers) problems.push(...sweep(peer, model));
  } finally {
    for (const peer of peers) peer.close();
  }
  return { problems, crossed };
}

/** Sends what `ask` sends on every connection and waits for the answers it names. */
async function exchange(
  peers: readonly Peer[],
  arrivals: Arrivals,
  what: string,
  ask: (peer: Peer) => string[],
  all = false,
): Promise<void> {
  const asked = peers.map((peer) => ask(peer));
  const open = () =>
    peers.flatMap((peer, index) =>
      asked[index]!.filter((requestId) => !peer.answer(requestId, all)).map(
        (requestId) => `${peer.spec.label} "${requestId}"`,
      ),
    );
  await arrivals.until(
    () => open().length === 0,
    what,
    () => `still unanswered: ${open().slice(0, 12).join(', ')}`,
  );
}

/** `request_events` of every name on every connection: refused, or `wanted`'s events. */
async function readEveryName(
  peers: readonly Peer[],
  arrivals: Arrivals,
  tag: string,
  model: Expectation,
  problems: string[],
  wanted: (user: User, name: string) => string[],
): Promise<void> {
  await exchange(peers, arrivals, `answers to the ${tag} catch-ups`, (peer) =>
    NAMES.map((name) => {
      const requestId = `${tag} ${name}`;
      peer.send({ type: 'request_events', repository: name, requestId });
      return requestId;
    }),
  );
  for (const peer of peers) {
    for (const name of NAMES) {
      const requestId = `${tag} ${name}`;
      const answer = peer.answer(requestId)!;
      const readable = model.access(peer.spec.user, name).read;
      const label = `${peer.spec.label} ${tag} "${name}"`;
      if (!readable) {
        if (answer.type !== 'error' || answer.code !== 'forbidden')
          problems.push(
            `${label}: the model forbids reading, the server answered ${JSON.stringify(answer)}`,
          );
        continue;
      }
      if (answer.type !== 'sync_complete')
        problems.push(
          `${label}: the model allows reading, the server answered ${JSON.stringify(answer)}`,
        );
      const seen = difference(label, peer.keys(requestId), wanted(peer.spec.user, name));
      if (seen) problems.push(seen);
    }
  }
}

/** The keys a reader of `name` must find there: the events its stream holds. */
function streamKeys(model: Expectation, user: User, name: string): string[] {
  const { read, stream } = model.access(user, name);
  if (!read) return [];
  return [...(model.holders.get(stream!) ?? [])].map(([eventId, write]) =>
    keyOf(name, { eventId, serverSequence: 0, data: { write } }),
  );
}

function eventOf(write: Write) {
  return event(write.eventId, { data: { id: `record-${write.eventId}`, write: write.index } });
}

/** Sends the writes of one round at once, waits for every ack and REST answer, checks them. */
async function runRound(
  round: readonly Write[],
  peers: readonly Peer[],
  nodes: readonly NodeAddress[],
  arrivals: Arrivals,
  model: Expectation,
  problems: string[],
): Promise<void> {
  const rest = new Map<number, Answer>();
  for (const write of round) {
    const sent = eventOf(write);
    if (write.via.kind === 'socket') {
      const peer = peers[write.via.connection.index]!;
      const requestId = `write ${write.index}`;
      peer.send(
        write.batch
          ? { type: 'push_events_batch', repository: write.name, events: [sent], requestId }
          : { type: 'push_event', repository: write.name, event: sent, requestId },
      );
      continue;
    }
    const url = `${nodes[write.via.node]!.url}/api/events/${encodeURIComponent(write.name)}`;
    fetch(write.batch ? `${url}/batch` : url, {
      method: 'POST',
      headers: { authorization: `Bearer ${write.user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(write.batch ? { events: [sent] } : sent),
    })
      .then(async (response) => ({ status: response.status, body: await response.json() }))
      .catch((error: Error) => ({ status: 0, body: { error: error.message } }))
      .then((answer) => {
        rest.set(write.index, answer);
        arrivals.poke();
      });
  }
  const answerOf = (write: Write): Answer | undefined => {
    if (write.via.kind === 'rest') return rest.get(write.index);
    const ack = peers[write.via.connection.index]!.answer(`write ${write.index}`);
    return ack && { status: ack.type === 'ack' ? 201 : 0, body: ack };
  };
  await arrivals.until(
    () => round.every((write) => answerOf(write) !== undefined),
    'answer to every write of the round',
    () =>
      `still unanswered: ${round
        .filter((write) => answerOf(write) === undefined)
        .map(describeWrite)
        .join(', ')}`,
  );
  for (const write of round) {
    const wanted = model.verdicts[write.index]!;
    const got = verdictOf(write, answerOf(write)!);
    const fits =
      got === wanted ||
      (wanted === 'forbiddenOrDuplicate' && (got === 'forbidden' || got === 'duplicate'));
    if (!fits)
      problems.push(
        `${describeWrite(write)}: the model says ${wanted}, the server answered ${got}`,
      );
  }
}

/** What an answer to a write of one event says happened to it. */
function verdictOf(write: Write, { status, body }: Answer): Verdict | string {
  const text = `${status} ${JSON.stringify(body)}`;
  if (status === 403)
    return body.code === 'forbidden' && write.via.kind === 'rest' ? 'forbidden' : text;
  if (status !== 201 || (body as Message).type !== 'ack') return text;
  const ids = JSON.stringify(body.eventIds);
  const duplicates = JSON.stringify(body.duplicates ?? []);
  const rejected = (body.rejected ?? []) as { eventId: string; code: string }[];
  const one = JSON.stringify([write.eventId]);
  if (rejected.length === 0 && ids === one)
    return duplicates === one ? 'duplicate' : duplicates === '[]' ? 'stored' : text;
  const refused =
    rejected.length === 1 &&
    rejected[0]!.eventId === write.eventId &&
    rejected[0]!.code === 'forbidden';
  return refused && ids === '[]' && duplicates === '[]' ? 'forbidden' : text;
}

/**
 * Per connection, the keys it must get live: the stored events of what it reads, but those it
 * pushed itself (it gets the ack instead). An event it pushed again when the stream already
 * held it may come or not: its node may have relayed it before the push, or may send it to the
 * others only.
 */
function expectedLive(writes: readonly Write[], model: Expectation, peers: readonly Peer[]) {
  const pushed = (peer: Peer, name: string, eventId: string) =>
    writes.filter(
      (write) =>
        write.via.kind === 'socket' &&
        write.via.connection.index === peer.spec.index &&
        write.name === name &&
        write.eventId === eventId &&
        model.verdicts[write.index] !== 'forbidden',
    );
  return peers.map((peer) => {
    const required: string[] = [];
    const optional = new Set<string>();
    for (const name of NAMES)
      for (const key of streamKeys(model, peer.spec.user, name)) {
        const write = writes[writeOfKey(key)]!;
        const own = pushed(peer, name, write.eventId);
        if (own.length === 0) required.push(key);
        else if (!own.includes(write)) optional.add(key);
      }
    return { required, optional };
  });
}

/** `GET /api/events/{name}` of every user and name, page by page, against the model. */
async function checkRestReads(
  scenario: Scenario,
  nodes: readonly NodeAddress[],
  model: Expectation,
  problems: string[],
): Promise<void> {
  for (const [index, user] of scenario.users.entries()) {
    const node = nodes[index % nodes.length]!;
    for (const name of NAMES) {
      const label = `GET "${name}" as ${user.userId}`;
      const readable = model.access(user, name).read;
      const keys: string[] = [];
      for (let after = 0, more = true; more; ) {
        const response = await fetch(
          `${node.url}/api/events/${encodeURIComponent(name)}?afterSequence=${after}`,
          { headers: { authorization: `Bearer ${user.token}` } },
        );
        const body = (await response.json()) as {
          events?: WireEvent[];
          hasMore?: boolean;
          repository?: string;
        };
        if (response.status !== (readable ? 200 : 403)) {
          problems.push(
            `${label}: the model ${readable ? 'allows' : 'forbids'} it, the server answered ${response.status} ${JSON.stringify(body)}`,
          );
          break;
        }
        if (!readable) break;
        if (body.repository !== name) problems.push(`${label}: answered for "${body.repository}"`);
        for (const each of body.events!) keys.push(keyOf(name, each));
        more = body.hasMore === true && body.events!.length > 0;
        if (more) after = body.events!.at(-1)!.serverSequence;
      }
      const seen = difference(label, keys, streamKeys(model, user, name));
      if (seen) problems.push(seen);
    }
  }
}

/** (a) and (d) over every message a connection got: each event must be one its user reads there. */
function sweep(peer: Peer, model: Expectation): string[] {
  const problems: string[] = [];
  const { label, user } = peer.spec;
  for (const message of peer.log) {
    if (!EXPECTED_TYPES.has(message.type)) problems.push(`${label} got ${JSON.stringify(message)}`);
    if (message.type !== 'events') continue;
    const name = String(message.repository);
    const where =
      message.requestId === undefined ? 'live' : `in the answer to "${message.requestId}"`;
    if (name.startsWith('~'))
      problems.push(`${label} got events ${where} under the stored name "${name}"`);
    const { read, stream } = model.access(user, name);
    for (const each of message.events as WireEvent[]) {
      const holder = read ? model.holders.get(stream!)?.get(each.eventId) : undefined;
      if (holder !== undefined && holder === each.data?.write) continue;
      problems.push(
        `${label} got ${each.eventId} (of write ${each.data?.write}) ${where} as "${name}", ` +
          (read ? `which ${stream} does not hold` : `which ${user.userId} may not read`),
      );
    }
  }
  return problems;
}
