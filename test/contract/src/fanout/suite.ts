import type { Fanout } from '@local-first/core/adapter';
import { afterEach, beforeEach, describe } from 'vitest';
import { deliveryTests } from './delivery.js';
import type { FanoutFixture, FanoutSetup, FanoutSuiteContext } from './fixtures.js';
import { lifecycleTests } from './lifecycle.js';

/**
 * The conformance suite of the `Fanout` contract. `setup` runs before every test and returns a
 * fixture whose `node()` makes fan-outs that share a channel no other fixture uses. The suite
 * opens the nodes it asks for and closes them all after the test, then calls `teardown`. Give
 * `interrupt` when the fan-out has `onMissed`, and the suite also checks that a node whose
 * listening side was cut reports it and hears again.
 *
 * One assumption lets the suite tell "never delivered" from "not delivered yet" without
 * sleeping: an announcement made after another one was heard somewhere reaches a third node
 * after that other one, as with one ordered channel (PostgreSQL's NOTIFY queue is one).
 *
 * @example
 * describeFanout('MemoryFanout', async () => {
 *   const hub = new MemoryFanoutHub();
 *   return {
 *     node: async () => hub.node(),
 *     // The suite hands back a node this setup made: a MemoryFanout.
 *     interrupt: async (node) => hub.interrupt(node as MemoryFanout),
 *     teardown: async () => {},
 *   };
 * });
 */
export function describeFanout(name: string, setup: FanoutSetup): void {
  describe(`Fanout contract: ${name}`, () => {
    let current: { fixture: FanoutFixture; opened: Fanout[] } | undefined;
    const running = () => {
      if (!current) throw new Error('the fan-out fixture is only there while a test runs');
      return current;
    };
    const context: FanoutSuiteContext = {
      async node(): Promise<Fanout> {
        const { fixture, opened } = running();
        const fanout = await fixture.node();
        opened.push(fanout);
        await fanout.open();
        return fanout;
      },
      async unopened(): Promise<Fanout> {
        const { fixture, opened } = running();
        const fanout = await fixture.node();
        opened.push(fanout);
        return fanout;
      },
      get canInterrupt(): boolean {
        const { fixture } = running();
        return fixture.interrupt !== undefined;
      },
      async interrupt(fanout: Fanout): Promise<void> {
        const { fixture } = running();
        if (!fixture.interrupt) throw new Error('this fixture cannot interrupt a node');
        await fixture.interrupt(fanout);
      },
    };

    beforeEach(async () => {
      current = { fixture: await setup(), opened: [] };
    });

    afterEach(async () => {
      const finished = current;
      current = undefined;
      if (!finished) return;
      try {
        for (const fanout of finished.opened) await fanout.close();
      } finally {
        await finished.fixture.teardown();
      }
    });

    describe('delivery', () => deliveryTests(context));
    describe('lifecycle', () => lifecycleTests(context));
  });
}
