import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FANOUTS, STORAGES, STORES, TRANSPORTS } from '../src/combinations.js';

const adaptersDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'adapters');

describe('matrix registry', () => {
  it('covers every package under adapters/', () => {
    const covered = new Set([
      ...Object.keys(STORAGES),
      ...Object.keys(TRANSPORTS),
      ...Object.keys(STORES),
      ...Object.keys(FANOUTS),
    ]);
    const packages = readdirSync(adaptersDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => {
        const manifest = JSON.parse(
          readFileSync(join(adaptersDir, entry.name, 'package.json'), 'utf8'),
        ) as { name: string };
        expect(manifest.name).toBe(`@local-first/${entry.name}`);
        return entry.name;
      });
    expect(packages.filter((name) => !covered.has(name))).toEqual([]);
    expect([...covered].filter((name) => !packages.includes(name))).toEqual([]);
    expect(
      Object.keys(STORAGES).length * Object.keys(TRANSPORTS).length * Object.keys(STORES).length,
    ).toBe(18);
  });
});
