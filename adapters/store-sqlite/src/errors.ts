import { ERROR_CODES, LocalFirstError } from '@local-first/core';

/** A failure of SQLite as the store reports it: `storage_failure`; our own errors pass as they are. */
export function storageFailure(what: string, cause?: unknown): LocalFirstError {
  if (cause instanceof LocalFirstError) return cause;
  return new LocalFirstError(ERROR_CODES.storageFailure, `SQLite could not ${what}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}
