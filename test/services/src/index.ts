export {
  DEBIAN_POSTGRES_ROOT,
  POSTGRES_BIN_ENV,
  POSTGRES_OS_USER,
  type PostgresInstance,
  postgresAvailable,
  postgresMissingFor,
  postgresUnavailableReason,
  startPostgres,
} from './postgres.js';
