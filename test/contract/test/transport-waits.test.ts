import { createLocalConnectionPair } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import { End } from '../src/transport/harness.js';

describe('the transport suite waits', () => {
  it('fail with what the end saw, not a bare timeout', async () => {
    const { client, server } = createLocalConnectionPair();
    const end = new End(server);
    client.send({ type: 'first' });
    client.send({ type: 'second' });
    await end.until(() => end.messages.length === 2, 'two messages');
    await expect(
      end.until(() => end.messages.length === 3, 'arrival of 3 message(s)', 20),
    ).rejects.toThrow(
      'no arrival of 3 message(s) within 20 ms; 2 message(s), last {"type":"second"}, 0 invalid, 0 error(s), not closed, isOpen true',
    );
    client.close(1000, 'done');
    expect(await end.closed()).toMatchObject({ code: 1000 });
  });
});
