import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  FANOUTS,
  STORAGES,
  STORES,
  STRATEGIES,
  strategyOf,
  TRANSPORTS,
  WIRES,
  type WireName,
} from '../src/combinations.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The package folders under `group` (adapters, strategies), each checked to be named for it. */
function packagesIn(group: string): string[] {
  const directory = join(root, group);
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const manifest = JSON.parse(
        readFileSync(join(directory, entry.name, 'package.json'), 'utf8'),
      ) as { name: string };
      expect(manifest.name).toBe(`@local-first/${entry.name}`);
      return entry.name;
    });
}

describe('matrix registry', () => {
  it('covers every package under adapters/', () => {
    const covered = new Set([
      ...Object.keys(STORAGES),
      ...Object.keys(TRANSPORTS),
      ...Object.keys(STORES),
      ...Object.keys(FANOUTS),
    ]);
    const packages = packagesIn('adapters');
    expect(packages.filter((name) => !covered.has(name))).toEqual([]);
    expect([...covered].filter((name) => !packages.includes(name))).toEqual([]);
  });

  it('covers every client strategy under strategies/, each over at least one wire', () => {
    // `server` is the server every combination runs against; the other packages are clients.
    const clients = packagesIn('strategies').filter((name) => name !== 'server');
    expect(clients.sort()).toEqual(Object.keys(STRATEGIES).sort());
    const wires = Object.keys(WIRES) as WireName[];
    expect([...new Set(wires.map(strategyOf))].sort()).toEqual(Object.keys(STRATEGIES).sort());
  });

  it('runs every storage over every wire against every store', () => {
    // The WebSocket strategy over 2 transports and the periodic one over REST: 3 wires.
    expect(Object.keys(WIRES)).toEqual([...Object.keys(TRANSPORTS), 'rest']);
    expect(
      Object.keys(STORAGES).length * Object.keys(WIRES).length * Object.keys(STORES).length,
    ).toBe(36);
  });
});
