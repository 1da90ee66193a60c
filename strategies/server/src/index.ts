// The engine: transport-independent, no drivers. Attach it to any TransportServer.

// The runnable server: one HTTP port with raw WebSocket, socket.io, REST and metrics, over the
// store a URL names. Its drivers are loaded only for the store in use.
export {
  type AuthConfig,
  ConfigError,
  DEFAULT_AUTH,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_STORE,
  defaultFanout,
  ENV_PREFIX,
  envName,
  type FanoutKind,
  parseCommandLine,
  parseStore,
  type ServerConfig,
  type StoreConfig,
  USAGE,
} from './config.js';
export * from './engine/index.js';
export { ServerMetrics, type ServerMetricsOptions } from './metrics.js';
export type { JsonPath, Location } from './rules/json-locations.js';
export { loadRules } from './rules/load.js';
export {
  type Access,
  type Condition,
  PRIVATE_PREFIX,
  privateCopyName,
  type RepositoryRule,
  Rules,
  type RulesDocument,
  RulesError,
  type RulesProblem,
  repositoryNameProblem,
} from './rules/rules.js';
export {
  createAuthenticator,
  openFanout,
  openStore,
  type RunningServer,
  type StartOptions,
  startNewEpoch,
  startSyncServer,
} from './server.js';
export { stopOnSignals } from './signals.js';
