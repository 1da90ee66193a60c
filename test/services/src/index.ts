export { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';
export { captureUncaught, modelSeed } from './model.js';
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
export {
  DEBIAN_REDIS_SERVER,
  REDIS_SERVER_ENV,
  type RedisInstance,
  redisMissingFor,
  redisUnavailableReason,
  type StartRedisOptions,
  startRedis,
} from './redis.js';
