export {
  type AccessPolicy,
  authorizerPolicy,
  type RepositoryAccess,
  rulesPolicy,
} from './access.js';
export {
  AUTH_FAILURE_CODES,
  type AuthenticatedUser,
  AuthenticationError,
  type Authenticator,
  type AuthFailureCode,
  type Authorizer,
  allowAll,
  bearerToken,
  type Credentials,
  DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS,
  type JwtAuthOptions,
  jwtAuth,
  noAuth,
  type StaticTokenUser,
  staticTokens,
  staticTokensProblem,
} from './auth.js';
export { type PushResult, SyncEngine, type SyncEngineOptions } from './engine.js';
export {
  MAX_REPOSITORY_NAME_LENGTH,
  type ParsedMessage,
  parseClientMessage,
  type RequestContext,
} from './messages.js';
export { SERVER_TOKENS, type SyncEngineModuleOptions, syncEngineModule } from './module.js';
export {
  type CommitObservation,
  closeCodeName,
  type EngineObserver,
  guardObserver,
} from './observer.js';
export {
  DEFAULT_CATCH_UP_CONFIRM_TIMEOUT_MS,
  DEFAULT_CATCH_UP_WINDOW_PAGES,
  DEFAULT_INTERNAL_RETRY_AFTER_MS,
  DEFAULT_LIMITS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_RATE_LIMIT_CAPACITY,
  DEFAULT_RATE_LIMIT_MAX_VIOLATIONS,
  DEFAULT_RATE_LIMIT_REFILL_PER_SECOND,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  type SyncLimits,
} from './options.js';
export { TokenBucket } from './rate-limit.js';
export { createRestHandler, type RestHandler } from './rest.js';
