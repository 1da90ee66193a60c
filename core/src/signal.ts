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
  // One listener held as it is, an array from the second on: most emitters (one per event of
  // each connection, 10,000 connections on a server) have one listener or none, and an array
  // costs an object and its elements each, a Set a hash table.
  private listeners: ((value: T) => void) | ((value: T) => void)[] | undefined;

  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  subscribe(listener: (value: T) => void): Unsubscribe {
    const current = this.listeners;
    if (current === undefined) this.listeners = listener;
    else if (typeof current === 'function') this.listeners = [current, listener];
    else current.push(listener);
    // The same function subscribed twice is two subscriptions; each unsubscribe removes one.
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const listeners = this.listeners;
      if (listeners === listener) this.listeners = undefined;
      else if (Array.isArray(listeners)) {
        const index = listeners.indexOf(listener);
        if (index >= 0) listeners.splice(index, 1);
      }
    };
  }

  /** Calls every listener with `value`, in subscription order. */
  emit(value: T): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    // One listener (the common case, once per message) needs no copy to survive unsubscribing.
    if (typeof listeners === 'function') this.call(listeners, value);
    else if (listeners.length === 1) this.call(listeners[0]!, value);
    else for (const listener of [...listeners]) this.call(listener, value);
  }

  private call(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (error) {
      this.onListenerError(error);
    }
  }

  /** How many subscriptions are active. */
  get size(): number {
    const listeners = this.listeners;
    if (listeners === undefined) return 0;
    return typeof listeners === 'function' ? 1 : listeners.length;
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners = undefined;
  }
}

/** A value that changes over time. New listeners get the current value at once. */
export class StateSignal<T> implements Subscribable<T> {
  private readonly emitter = new Emitter<T>();

  constructor(private current: T) {}

  /** The current value. */
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
