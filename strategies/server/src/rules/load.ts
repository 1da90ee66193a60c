import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isLocalFirstError } from '@local-first/core';
import { type LocatedJson, parseJsonWithLocations } from './json-locations.js';
import { Rules, RulesError } from './rules.js';

/**
 * Reads `--rules FILE`: JSON (`.json`), or a module (`.js`, `.mjs`, `.ts` when the server runs
 * with a TypeScript loader) whose default export is the rules document, where conditions may
 * also be functions. Every problem comes back as one `RulesError` naming its line and field.
 */
export async function loadRules(file: string): Promise<Rules> {
  const path = resolve(file);
  const extension = extname(path);
  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new RulesError(
        file,
        [{ field: '(the file)', message: `cannot be read: ${(error as Error).message}` }],
        { cause: error },
      );
    }
    let located: LocatedJson;
    try {
      located = parseJsonWithLocations(text);
    } catch (error) {
      if (!isLocalFirstError(error)) throw error;
      const { details } = error;
      const location = { line: Number(details?.line), column: Number(details?.column) };
      throw new RulesError(
        file,
        [{ field: '(the file)', message: `is not JSON: ${String(details?.problem)}`, location }],
        { cause: error },
      );
    }
    return Rules.compile(located.value, file, located.locate);
  }
  if (!['.js', '.mjs', '.cjs', '.ts', '.mts'].includes(extension))
    throw new RulesError(file, [
      { field: '(the file)', message: 'must be .json, or a module (.js, .mjs, .ts)' },
    ]);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    const hint = extension.endsWith('ts')
      ? ' (a .ts file needs a TypeScript loader such as tsx; or compile it to .js)'
      : '';
    throw new RulesError(
      file,
      [{ field: '(the file)', message: `cannot be loaded${hint}: ${(error as Error).message}` }],
      { cause: error },
    );
  }
  if (loaded.default === undefined)
    throw new RulesError(file, [
      {
        field: '(the module)',
        message: 'has no default export: export default { repositories: [...] }',
      },
    ]);
  return Rules.compile(loaded.default, file);
}
