import type { LockManagerLike } from '../src/leadership.js';

interface Request {
  tab: FakeTab;
  name: string;
  callback: (lock: unknown) => Promise<void>;
  settle: { resolve(value: unknown): void; reject(error: unknown): void };
}

/**
 * The Web Locks of one browser, for tests: exclusive locks granted in request order, released
 * when the holder's callback settles, when a waiting request's signal aborts, and (as a browser
 * does) when the tab that holds or waits for them closes or crashes.
 */
export class FakeBrowserLocks {
  private readonly held = new Map<string, Request>();
  private readonly waiting: Request[] = [];

  /** A tab of this browser, with its own `navigator.locks`. */
  tab(): FakeTab {
    return new FakeTab(this);
  }

  request(
    tab: FakeTab,
    name: string,
    options: { signal?: AbortSignal },
    callback: Request['callback'],
  ) {
    return new Promise<unknown>((resolve, reject) => {
      if (tab.closed) return reject(new DOMException('the document is gone', 'InvalidStateError'));
      const request: Request = { tab, name, callback, settle: { resolve, reject } };
      options.signal?.addEventListener('abort', () => {
        const index = this.waiting.indexOf(request);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        reject(new DOMException('aborted', 'AbortError'));
      });
      this.waiting.push(request);
      this.grant(name);
    });
  }

  /** The tab is gone: what it held is free, what it waited for is dropped. */
  drop(tab: FakeTab): void {
    for (let index = this.waiting.length - 1; index >= 0; index--) {
      if (this.waiting[index]!.tab === tab) this.waiting.splice(index, 1);
    }
    for (const [name, request] of this.held) {
      if (request.tab === tab) {
        this.held.delete(name);
        this.grant(name);
      }
    }
  }

  private grant(name: string): void {
    if (this.held.has(name)) return;
    const index = this.waiting.findIndex((request) => request.name === name);
    if (index < 0) return;
    const [request] = this.waiting.splice(index, 1);
    this.held.set(name, request!);
    void Promise.resolve()
      .then(() => request!.callback({ name }))
      .then(request!.settle.resolve, request!.settle.reject)
      .finally(() => {
        if (this.held.get(name) !== request) return;
        this.held.delete(name);
        this.grant(name);
      });
  }
}

/** One tab of a `FakeBrowserLocks` browser. */
export class FakeTab {
  closed = false;
  readonly locks: LockManagerLike;

  constructor(private readonly browser: FakeBrowserLocks) {
    this.locks = {
      request: (name, options, callback) => browser.request(this, name, options, callback),
    };
  }

  /** Closes (or crashes) the tab: the browser frees its locks, whatever its code was doing. */
  close(): void {
    this.closed = true;
    this.browser.drop(this);
  }
}
