import { expect, it } from 'vitest';
import { Ear, type FanoutSuiteContext } from './fixtures.js';

/** Names a fan-out that keys, escapes or truncates carelessly would get wrong. */
const TRICKY_NAMES: readonly string[] = [
  'todos',
  'Todos',
  'a"b\\c',
  "it's",
  'tab\there',
  'nul\u0000inside',
  'e\u0301',
  '\u00e9',
  '日本語',
  '🙂/notes',
  'x'.repeat(256),
];

/** Who hears what: every other node, never the announcer, nothing lost. */
export function deliveryTests(context: FanoutSuiteContext): void {
  it('delivers an announcement to every other node, naming the node that made it', async () => {
    const a = await context.node();
    const b = new Ear(await context.node());
    const c = new Ear(await context.node());
    expect(new Set([a.node, b.fanout.node, c.fanout.node]).size).toBe(3);
    await a.announce('todos', 7);
    await Promise.all([b.hears('todos', 7), c.hears('todos', 7)]);
    expect(b.heard).toEqual([{ repository: 'todos', lastSequence: 7, node: a.node }]);
    expect(c.heard).toEqual([{ repository: 'todos', lastSequence: 7, node: a.node }]);
  });

  it('never delivers a node its own announcements', async () => {
    const a = new Ear(await context.node());
    const b = new Ear(await context.node());
    await a.fanout.announce('todos', 1);
    await b.hears('todos', 1);
    // Made after a's was heard: a fan-out that delivered a's own would have delivered it first.
    await b.fanout.announce('barrier', 1);
    await a.hears('barrier', 1);
    expect(a.heard).toEqual([{ repository: 'barrier', lastSequence: 1, node: b.fanout.node }]);
    expect(b.heard.map((entry) => entry.repository)).toEqual(['todos']);
  });

  it('loses none of many announcements made at once (in any order)', async () => {
    const a = await context.node();
    const b = new Ear(await context.node());
    const sent = ['todos', 'notes', 'chat'].flatMap((repository) =>
      Array.from({ length: 20 }, (_, index) => ({ repository, lastSequence: index + 1 })),
    );
    await Promise.all(
      sent.map(({ repository, lastSequence }) => a.announce(repository, lastSequence)),
    );
    await b.until(() => b.heard.length >= sent.length, `all ${sent.length} announcements`);
    const key = (entry: { repository: string; lastSequence: number }) =>
      `${entry.repository}#${entry.lastSequence}`;
    expect(b.heard.map(key).sort()).toEqual(sent.map(key).sort());
  });

  it('hears announcements from several nodes at once', async () => {
    const nodes = [await context.node(), await context.node(), await context.node()];
    const ear = new Ear(await context.node());
    await Promise.all(nodes.map((node, index) => node.announce('todos', index + 1)));
    await ear.until(() => ear.heard.length >= 3, 'one announcement from each node');
    expect(ear.heard.map((entry) => entry.node).sort()).toEqual(nodes.map((n) => n.node).sort());
  });

  it('carries repository names exactly', async () => {
    const a = await context.node();
    const b = new Ear(await context.node());
    for (const name of TRICKY_NAMES) await a.announce(name, 3);
    await b.until(() => b.heard.length >= TRICKY_NAMES.length, 'every tricky name');
    expect(b.heard.map((entry) => entry.repository)).toEqual([...TRICKY_NAMES]);
  });

  it('either carries a name too long for it or reports the announcement as missed', async () => {
    const a = await context.node();
    const b = new Ear(await context.node());
    const long = 'r'.repeat(20_000);
    await a.announce(long, 5);
    await b.until(
      () => b.heard.some((entry) => entry.repository === long) || b.missed.includes('overflow'),
      'the long name, or a miss',
    );
    if (b.missed.length === 0) {
      expect(b.heard).toEqual([{ repository: long, lastSequence: 5, node: a.node }]);
    }
  });

  it('calls every listener; one that stopped or that throws does not keep the others from hearing', async () => {
    const a = await context.node();
    const b = await context.node();
    const first = new Ear(b);
    const stopped: unknown[] = [];
    const stop = b.onAnnouncement((announcement) => stopped.push(announcement));
    b.onAnnouncement(() => {
      throw new Error('a listener that fails on purpose');
    });
    const last = new Ear(b);
    stop();
    await a.announce('todos', 2);
    await Promise.all([first.hears('todos', 2), last.hears('todos', 2)]);
    expect(stopped).toEqual([]);
  });

  it('reports missed announcements after its listening side was cut, then hears again', async (running) => {
    if (!context.canInterrupt) {
      // A capability skip, with its reason: the fixture has no way to cut the listening side.
      running.skip('the fixture cannot cut a listening side (no interrupt)');
      return;
    }
    const a = await context.node();
    const b = new Ear(await context.node());
    expect(b.fanout.onMissed).toBeTypeOf('function');
    await context.interrupt(b.fanout);
    // Announced while b may be down: b must hear it or report the miss (it reports anyway).
    await a.announce('todos', 1);
    await b.until(() => b.missed.includes('reconnect'), 'a reported reconnect');
    await a.announce('todos', 2);
    await b.hears('todos', 2);
    expect(b.missed.filter((cause) => cause === 'reconnect')).toHaveLength(1);
  });
}
