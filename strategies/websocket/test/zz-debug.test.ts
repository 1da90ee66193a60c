import { afterEach, beforeEach, it, vi } from 'vitest';
import { ForbidWrites, ForeignWrite, LargeBurst, SlowDisk, Stop } from './model/commands.js';
import { config, runModel } from './model/run.js';
import { captureUncaught } from './model/world.js';

let restore: () => void;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout','clearTimeout','setInterval','clearInterval','setImmediate','clearImmediate','Date'], now: new Date('2026-03-01T00:00:00.000Z') });
  restore = captureUncaught();
});
afterEach(() => { restore(); vi.useRealTimers(); });
it('debug', async () => {
  let w: any;
  try {
    await runModel(config({ latencyMs: 2, pongTimeoutMs: 500, backups: true, jitterSeed: 0 }), [
      new SlowDisk(1500), new ForbidWrites('notes', true), new LargeBurst('notes', 3), new Stop(), new ForeignWrite('todos', 'r0', 'good', false),
    ], async (world) => { w = world;
  console.log((await w.storage.getEvents()).map((e: any) => `${e.repository}/${e.dataId}:${e.eventId.slice(-8)}:${e.syncStatus}`).join(' '));
  console.log((await w.server.events('notes')).map((e: any) => `${e.dataId}:${e.eventId.slice(-8)}#${e.serverSequence}`).join(' '));
  console.log((await w.storage.queryRecords('notes', {where: [], orderBy: [], includeDeleted: true})).map((r: any) => `${r.id}:${r.eventId.slice(-8)}:${r.deleted}`).join(' '));
});
  } catch (e) {
    console.log(String(e).slice(0, 600));
  }
  for (const l of w.network.links) console.log(l.id, w.log.story(l.id, w.t0));
  console.log(w.log.states.map((s: any) => `${s.at - w.t0}:${s.state}`).join(' '));
  console.log(w.log.disturbances.map((s: any) => `${s.at - w.t0}:${s.what}`).join(' '));
  console.log([...w.rejected].map(([k, v]: any) => `${k.slice(-8)}@${v - w.t0}`));
});
