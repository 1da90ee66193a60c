import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import type { Persister } from './types.js';

/** Appended to the target's name for the file that is written before it replaces the target. */
export const TEMP_FILE_SUFFIX = '.tmp';

/** Options of `NodeFilePersister`. */
export interface NodeFilePersisterOptions {
  /** The database file. Its folder is created when missing. */
  path: string;
}

/**
 * Keeps the database in one file, replaced atomically on every save: the bytes go to a
 * temporary file in the same folder, which is synced to disk and renamed over the target, and
 * then the folder is synced so the rename itself survives a power cut. A crash at any moment
 * leaves either the previous file or the new one, never a mix of both.
 */
export class NodeFilePersister implements Persister {
  private readonly path: string;
  private readonly temp: string;
  private folderReady = false;

  constructor(options: NodeFilePersisterOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'options.path is required');
    }
    this.path = options.path;
    // One fixed name, so a temporary file left by a crash is simply overwritten next time.
    this.temp = `${options.path}${TEMP_FILE_SUFFIX}`;
  }

  async load(): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async save(bytes: Uint8Array): Promise<void> {
    const folder = dirname(this.path);
    if (!this.folderReady) {
      await mkdir(folder, { recursive: true });
      this.folderReady = true;
    }
    try {
      const file = await open(this.temp, 'w');
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(this.temp, this.path);
    } catch (error) {
      await rm(this.temp, { force: true }).catch(() => undefined);
      throw error;
    }
    await syncFolder(folder);
  }
}

/** Makes a rename in `folder` durable. Some platforms (Windows) cannot open a folder to sync. */
async function syncFolder(folder: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES')
      throw error;
  } finally {
    await handle?.close();
  }
}
