// Random bytes are drawn from the platform in blocks: one getRandomValues call per id was the
// largest single cost of a local write.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes(count: number): Uint8Array {
  if (poolOffset + count > POOL_SIZE) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + count);
  poolOffset += count;
  return bytes;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A UUID version 7: 48 bits of Unix milliseconds, then random bits. Ids made later sort later,
 * which keeps event logs and indexes in roughly insertion order.
 */
export function uuidv7(now: number = Date.now()): string {
  const random = randomBytes(10);
  const time = Math.max(0, Math.floor(now));
  const high = Math.floor(time / 2 ** 16);
  const low = time % 2 ** 16;
  let hex = high.toString(16).padStart(8, '0') + low.toString(16).padStart(4, '0');
  hex += HEX[(random[0]! & 0x0f) | 0x70]! + HEX[random[1]!]!;
  hex += HEX[(random[2]! & 0x3f) | 0x80]! + HEX[random[3]!]!;
  for (let i = 4; i < 10; i++) hex += HEX[random[i]!]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A short random id for clients and nodes: 16 hex digits. */
export function randomId(): string {
  let hex = '';
  for (const byte of randomBytes(8)) hex += HEX[byte]!;
  return hex;
}
