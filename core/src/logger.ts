/** The logging the framework does; pass any logger with these four methods (pino fits). */
export interface Logger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
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
