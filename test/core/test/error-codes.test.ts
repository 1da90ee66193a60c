import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '@local-first/core';
import { CLOSE_CODES, PROTOCOL_ERROR_CODES, REJECTION_CODES } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';

/** The one table of codes, as a user reads it in the published package. */
const ERRORS_MD = readFileSync(new URL('../../../core/ERRORS.md', import.meta.url), 'utf8');

/**
 * The codes in the first column of the tables of the section whose `##` heading names
 * `constant` (in backticks). Fails when no section or more than one does.
 */
function tableCodes(constant: string): string[] {
  const sections = ERRORS_MD.split(/^## /m).slice(1);
  const named = sections.filter((section) => section.split('\n')[0]!.includes(`\`${constant}\``));
  expect(named, `sections of ERRORS.md whose heading names ${constant}`).toHaveLength(1);
  return [...named[0]!.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]!);
}

/** Each family the table covers, with the codes that exist: read from the exported constants. */
const FAMILIES: Record<string, readonly string[]> = {
  ERROR_CODES: Object.values(ERROR_CODES),
  PROTOCOL_ERROR_CODES,
  REJECTION_CODES,
  CLOSE_CODES: Object.values(CLOSE_CODES).map(String),
};

describe('core/ERRORS.md', () => {
  it.each(Object.entries(FAMILIES))('lists every code of %s once, and no other', (name, codes) => {
    const listed = tableCodes(name);
    expect([...listed].sort()).toEqual([...codes].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('gives each ERROR_CODES code its key, as the constant names it', () => {
    const rows = [...ERRORS_MD.matchAll(/^\| `([a-z_]+)` \| `([A-Za-z]+)` \|/gm)];
    const keyOf = Object.fromEntries(rows.map((row) => [row[1], row[2]]));
    for (const [key, code] of Object.entries(ERROR_CODES)) expect(keyOf[code], code).toBe(key);
  });

  it('has a section for the auth_failed codes, which the server package checks', () => {
    // The codes are @local-first/server's; its auth test compares them with this section.
    expect(tableCodes('AUTH_FAILURE_CODES').length).toBeGreaterThan(0);
  });
});
