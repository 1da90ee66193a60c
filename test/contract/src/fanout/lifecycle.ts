import { ERROR_CODES } from '@local-first/core';
import { expect, it } from 'vitest';
import { Ear, expectCode, type FanoutSuiteContext } from './fixtures.js';

/** Opening and closing. */
export function lifecycleTests(context: FanoutSuiteContext): void {
  it('stops hearing at close; announce then fails with closed; a second close is harmless', async () => {
    const a = new Ear(await context.node());
    const b = new Ear(await context.node());
    const c = new Ear(await context.node());
    await b.fanout.close();
    await a.fanout.announce('todos', 1);
    await c.hears('todos', 1);
    expect(b.heard).toEqual([]);
    await expectCode(() => b.fanout.announce('todos', 2), ERROR_CODES.closed);
    await b.fanout.close();
    await expectCode(() => b.fanout.open(), ERROR_CODES.closed);
    // The others go on as if nothing happened.
    await c.fanout.announce('notes', 1);
    await a.hears('notes', 1);
  });

  it('refuses to announce before open() with not_initialized', async () => {
    const unopened = await context.unopened();
    await expectCode(() => unopened.announce('todos', 1), ERROR_CODES.notInitialized);
  });

  it('refuses a lastSequence that is not a whole number, 0 or more, with invalid_argument', async () => {
    const a = await context.node();
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expectCode(() => a.announce('todos', bad), ERROR_CODES.invalidArgument);
    }
  });

  it('opens twice without harm and still hears once per announcement', async () => {
    const a = await context.node();
    const b = new Ear(await context.node());
    await b.fanout.open();
    await a.announce('todos', 1);
    await b.hears('todos', 1);
    await a.announce('barrier', 1);
    await b.hears('barrier', 1);
    expect(b.heard.map((entry) => entry.repository)).toEqual(['todos', 'barrier']);
  });
}
