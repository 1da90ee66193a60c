/** The logging the framework does; pass any logger with these four methods (pino fits). */
export interface Logger {
  /** Detail for tracing a problem; off by default. */
  debug(context: object, message: string): void;
  /** A normal event worth a line (a server started, a client connected). */
  info(context: object, message: string): void;
  /** Something went wrong and was handled (a malformed remote event, a failing strategy). */
  warn(context: object, message: string): void;
  /** Something failed that someone should look at. */
  error(context: object, message: string): void;
}

/** Logs warnings and errors to the console; the default when no logger is given. */
export const consoleLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (context, message) => console.warn(`[local-first] ${message}`, context),
  error: (context, message) => console.error(`[local-first] ${message}`, context),
};

/** Logs nothing. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
