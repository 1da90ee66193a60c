import { afterEach, beforeEach, describe } from 'vitest';
import { describeClosing } from './closing.js';
import { describeFailures } from './failures.js';
import { type RawPeer, TransportHarness, type TransportSetup } from './harness.js';
import { describeMessaging } from './messaging.js';

export type { RawPeer, TransportSetup };

/**
 * Registers the transport conformance suite with vitest, titled `Transport contract: <name>`.
 * Call it at the top level of a test file.
 *
 * `setup` runs before every test and returns a client half, a server half attached to a real
 * server listening on 127.0.0.1 (port 0), and the URL that reaches it. The suite drives both
 * halves: it registers its own connection handler, opens and closes clients, and closes every
 * client it opened before calling `teardown`. Tests await events, never sleep; only the
 * declared abilities of the setup (`upgradeHeaders`, `openRaw`) skip tests.
 */
export function describeTransport(name: string, setup: () => Promise<TransportSetup>): void {
  const harness = new TransportHarness(setup);
  describe(`Transport contract: ${name}`, () => {
    beforeEach(() => harness.create());
    afterEach(() => harness.destroy());

    describeMessaging(harness);
    describeClosing(harness);
    describeFailures(harness);
  });
}
