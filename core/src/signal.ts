/** Stops a subscription. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Something that pushes values to listeners. */
export interface Subscribable<T> {
  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: (value: T) => void): Unsubscribe;
}

/**
 * A set of listeners. A listener that throws is reported to `onListenerError` and never stops
 * the others from being called.
 */
export class Emitter<T> implements Subscribable<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  subscribe(listener: (value: T) => void): Unsubscribe {
    const entry = (value: T) => listener(value);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  emit(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}

/** A value that changes over time. New listeners get the current value at once. */
export class StateSignal<T> implements Subscribable<T> {
  private readonly emitter = new Emitter<T>();

  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  /** Sets the value; listeners hear only of real changes. */
  set(value: T): void {
    if (Object.is(value, this.current)) return;
    this.current = value;
    this.emitter.emit(value);
  }

  subscribe(listener: (value: T) => void): Unsubscribe {
    const unsubscribe = this.emitter.subscribe(listener);
    listener(this.current);
    return unsubscribe;
  }
}

function reportListenerError(error: unknown): void {
  console.error('[local-first] a listener threw', error);
}
