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
  // An array made on the first subscription: most emitters (one per event of each connection)
  // have one listener or none, and a Set costs a hash table each.
  private listeners: ((value: T) => void)[] | undefined;

  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  subscribe(listener: (value: T) => void): Unsubscribe {
    // A literal of one: `[]` then `push` would reserve room for 17.
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
    // The same function subscribed twice is two subscriptions; each unsubscribe removes one.
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.listeners!.splice(index, 1);
    };
  }

  /** Calls every listener with `value`, in subscription order. */
  emit(value: T): void {
    const listeners = this.listeners;
    if (!listeners || listeners.length === 0) return;
    // One listener (the common case, once per message) needs no copy to survive unsubscribing.
    if (listeners.length === 1) this.call(listeners[0]!, value);
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
    return this.listeners?.length ?? 0;
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
