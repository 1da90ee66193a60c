import { InboundQueue } from './inbound-queue.js';
import { Emitter, type Unsubscribe } from './signal.js';
import type { CloseInfo, InvalidFrame, TransportConnection } from './transport.js';

/**
 * The listening half every `TransportConnection` shares: its four events and their
 * subscriptions. A transport extends it, implements `isOpen`, `send` and `close`, and emits
 * what arrives through `deliver`. With `holdUntilSubscribed` (client connections), what arrives
 * before the first subscription is held until then, in order (see `InboundQueue`).
 */
export abstract class BaseTransportConnection implements TransportConnection {
  /** Emits each decoded message to `onMessage` listeners. */
  protected readonly messages = new Emitter<unknown>();
  /** Emits each frame that could not be decoded to `onInvalidMessage` listeners. */
  protected readonly invalid = new Emitter<InvalidFrame>();
  /** Emits the close, once, to `onClose` listeners. */
  protected readonly closes = new Emitter<CloseInfo>();
  /** Emits the underlying socket's errors to `onError` listeners. */
  protected readonly errors = new Emitter<Error>();
  private readonly inbound: InboundQueue;

  constructor(holdUntilSubscribed = false) {
    this.inbound = new InboundQueue(holdUntilSubscribed);
  }

  abstract get isOpen(): boolean;
  abstract send(message: object): void;
  abstract close(code?: number, reason?: string): void;

  onMessage(listener: (message: unknown) => void): Unsubscribe {
    return this.subscribe(this.messages, listener);
  }
  onInvalidMessage(listener: (problem: InvalidFrame) => void): Unsubscribe {
    return this.subscribe(this.invalid, listener);
  }
  onClose(listener: (info: CloseInfo) => void): Unsubscribe {
    return this.subscribe(this.closes, listener);
  }
  onError(listener: (error: Error) => void): Unsubscribe {
    return this.subscribe(this.errors, listener);
  }

  /** Runs `delivery` (which emits) now, or in arrival order once someone subscribed. */
  protected deliver(delivery: () => void): void {
    this.inbound.deliver(delivery);
  }

  private subscribe<T>(emitter: Emitter<T>, listener: (value: T) => void): Unsubscribe {
    const unsubscribe = emitter.subscribe(listener);
    this.inbound.subscribed();
    return unsubscribe;
  }
}
