import type { LocalFirstClient, QuerySpec, Repository, SyncEvent } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import type { RecordingStrategy } from './fixtures.js';
import {
  BASE_TIME,
  type Fields,
  type Item,
  REPOSITORIES,
  type RemoteEvent,
  type Step,
  type WatchedQuery,
  type Write,
} from './live-query-model.js';

// Runs the steps of the live-query property against a client.

/** The client under test and what the steps need to remember. */
export interface World {
  client: LocalFirstClient;
  repositories: Repository<Item>[];
  /** The namespaces to switch between; the first is the one the client starts in. */
  namespaces: [string, string];
  /** Remote events sent so far, per repository, for `again`. */
  sent: SyncEvent[][];
  counter: number;
  /** The watched queries, for `page` steps, and how the test reads one without the watches. */
  queries: readonly WatchedQuery[];
  read(repository: Repository<Item>, spec: QuerySpec): Promise<readonly Item[]>;
  /** The client's one strategy, for what only a strategy can do (revoke a repository). */
  strategy: RecordingStrategy;
}

/** What a step may have changed: record keys `repository/id`, or every record. */
export type Touched = Set<string> | 'all';

const itemOf = (recordId: string, data: Fields): Item => ({ id: recordId, ...data });

async function runWrite(world: World, change: Write, touched: Set<string>): Promise<void> {
  const repository = world.repositories[change.repo]!;
  const key = (recordId: string) => touched.add(`${repository.name}/${recordId}`);
  if (change.op === 'upsert') {
    key(change.id);
    await repository.upsert(itemOf(change.id, change.fields));
  } else if (change.op === 'delete') {
    key(change.id);
    await repository.delete(change.id);
  } else if (change.op === 'upsertMany') {
    for (const item of change.items) key(item.id);
    await repository.upsertMany(change.items.map((item) => itemOf(item.id, item.fields)));
  } else {
    for (const recordId of change.ids) key(recordId);
    await repository.deleteMany(change.ids);
  }
}

/** Everything stored, in both repositories, to show that a failed transaction left it alone. */
async function snapshot(world: World): Promise<string> {
  const all = { where: [], orderBy: [], includeDeleted: true };
  const records = await Promise.all(world.repositories.map((owner) => world.read(owner, all)));
  return JSON.stringify({ records, events: await world.client.storage.getEvents() });
}

async function runTransaction(
  world: World,
  step: Extract<Step, { kind: 'tx' }>,
  touched: Set<string>,
  alone: boolean,
): Promise<void> {
  const before = alone && step.throws ? await snapshot(world) : undefined;
  const boom = new Error('the transaction throws');
  const done = world.client.transaction(async (tx) => {
    for (const change of step.writes) {
      const repository = world.repositories[change.repo]!;
      if (change.op === 'get') await tx.getById(repository, change.id);
      else if (change.op === 'upsert')
        await tx.upsert(repository, itemOf(change.id, change.fields));
      else if (change.op === 'delete') await tx.delete(repository, change.id);
      else if (change.op === 'upsertMany')
        await tx.upsertMany(
          repository,
          change.items.map((item) => itemOf(item.id, item.fields)),
        );
      else await tx.deleteMany(repository, change.ids);
    }
    if (step.throws) throw boom;
  });
  if (!step.throws) {
    await done;
    for (const change of step.writes) {
      const name = REPOSITORIES[change.repo];
      const ids =
        change.op === 'upsertMany'
          ? change.items.map((item) => item.id)
          : change.op === 'deleteMany'
            ? change.ids
            : [change.id];
      for (const recordId of ids) touched.add(`${name}/${recordId}`);
    }
    return;
  }
  const outcome = await done.then(
    () => 'resolved',
    (error: unknown) => (error === boom ? 'rejected' : `failed with ${String(error)}`),
  );
  if (outcome !== 'rejected') throw new Error(`a transaction that threw ${outcome}`);
  if (before !== undefined && (await snapshot(world)) !== before)
    throw new Error('a transaction that threw changed the stored records or events');
}

async function runRemote(
  world: World,
  repo: number,
  specs: readonly RemoteEvent[],
  touched: Set<string>,
): Promise<void> {
  const name = REPOSITORIES[repo]!;
  const sent = world.sent[repo]!;
  const own = (await world.client.storage.getEvents({ repository: name })).filter(
    (event) => event.local,
  );
  const events: SyncEvent[] = [];
  for (const spec of specs) {
    if (spec.type === 'again') {
      const known = [...sent, ...own];
      const again = known[spec.pick % Math.max(1, known.length)];
      if (!again) continue;
      const {
        repository: _repository,
        syncStatus: _status,
        local: _local,
        ...event
      } = again as SyncEvent & { repository?: string; syncStatus?: string; local?: boolean };
      events.push(event);
      touched.add(`${name}/${event.dataId}`);
      continue;
    }
    const counter = ++world.counter;
    const wall = BASE_TIME + spec.tick * 1_000;
    const event: SyncEvent = {
      eventId: `remote-${counter}`,
      operation: spec.type === 'delete' ? 2 : 0,
      createdAt: new Date(wall).toISOString(),
      dataId: spec.id,
      data: spec.type === 'delete' ? null : itemOf(spec.id, spec.fields),
      hlc: formatHlc({ wall, counter }, 'server'),
      serverSequence: counter,
    };
    events.push(event);
    sent.push(event);
    touched.add(`${name}/${spec.id}`);
  }
  const result = await world.client.applyRemoteEvents(name, events);
  if (result.invalid.length > 0)
    throw new Error(`remote events refused as invalid: ${JSON.stringify(result.invalid)}`);
}

/** Deletes or updates the first records a watched query shows; see the `page` step. */
async function runPage(
  world: World,
  step: Extract<Step, { kind: 'page' }>,
  touched: Set<string>,
): Promise<void> {
  const watched = world.queries[step.query % world.queries.length]!;
  const { limit: _limit, offset: _offset, ...spec } = watched.spec;
  const shown = await world.read(world.repositories[watched.repo]!, spec);
  const ids = shown
    .filter((item) => item._deleted !== true)
    .slice(0, step.count)
    .map((item) => item.id);
  const { fields, remote } = step;
  if (remote !== undefined) {
    const events: RemoteEvent[] = ids.map((id, index) =>
      fields
        ? { type: 'put', id, fields: fields[index % fields.length]!, tick: remote }
        : { type: 'delete', id, tick: remote },
    );
    return runRemote(world, watched.repo, events, touched);
  }
  const write: Write = fields
    ? {
        op: 'upsertMany',
        repo: watched.repo,
        items: ids.map((id, index) => ({ id, fields: fields[index % fields.length]! })),
      }
    : { op: 'deleteMany', repo: watched.repo, ids };
  return runWrite(world, write, touched);
}

/** Picks local events by index from `choices`, and marks their records touched. */
function pick<T extends { eventId: string; dataId: string; repository: string }>(
  choices: readonly T[],
  picks: readonly number[],
  touched: Set<string>,
): T[] {
  if (choices.length === 0) return [];
  const chosen = picks.map((index) => choices[index % choices.length]!);
  for (const event of chosen) touched.add(`${event.repository}/${event.dataId}`);
  return chosen;
}

/** Runs one step against the client; returns what it may have changed. */
export async function runStep(world: World, step: Step, alone = true): Promise<Touched> {
  const touched = new Set<string>();
  const { client } = world;
  switch (step.kind) {
    case 'write':
      await runWrite(world, step.write, touched);
      break;
    case 'tx':
      await runTransaction(world, step, touched, alone);
      break;
    case 'remote':
      await runRemote(world, step.repo, step.events, touched);
      break;
    case 'page':
      await runPage(world, step, touched);
      break;
    case 'reject': {
      const chosen = pick(await client.getPendingEvents(), step.picks, touched);
      await client.rejectEvents(
        chosen.map((event) => ({
          eventId: event.eventId,
          code: 'forbidden' as const,
          message: 'refused by the property',
          source: 'server' as const,
        })),
      );
      break;
    }
    case 'ack': {
      const own = (await client.storage.getEvents()).filter((event) => event.local);
      await client.markSynced(pick(own, step.picks, touched).map((event) => event.eventId));
      break;
    }
    case 'revoke': {
      const name = REPOSITORIES[step.repo]!;
      await world.strategy.host!.revokeRepository(name, { strategy: world.strategy.name });
      return 'all';
    }
    case 'switch': {
      const [first, second] = world.namespaces;
      await client.useNamespace(client.storage.namespace === first ? second : first);
      return 'all';
    }
    case 'burst': {
      const all = await Promise.all(step.steps.map((inner) => runStep(world, inner, false)));
      for (const inner of all) if (inner === 'all') return 'all';
      for (const inner of all) for (const key of inner as Set<string>) touched.add(key);
      break;
    }
  }
  return touched;
}
