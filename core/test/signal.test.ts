import { describe, expect, it, vi } from 'vitest';
import { Emitter, StateSignal } from '../src/signal.js';

describe('Emitter', () => {
  it('calls every listener and keeps going when one throws', () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<number>((error) => errors.push(error));
    const seen: number[] = [];
    emitter.subscribe(() => {
      throw new Error('boom');
    });
    const unsubscribe = emitter.subscribe((value) => seen.push(value));
    emitter.emit(1);
    unsubscribe();
    unsubscribe();
    emitter.emit(2);
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(2);
  });

  it('keeps subscription order and counts through one, several and no listeners', () => {
    const emitter = new Emitter<number>();
    const seen: string[] = [];
    const listener = (value: number) => seen.push(`a${value}`);
    const first = emitter.subscribe(listener);
    // The same function twice is two subscriptions; each unsubscribe removes one.
    const second = emitter.subscribe(listener);
    const third = emitter.subscribe((value) => seen.push(`b${value}`));
    expect(emitter.size).toBe(3);
    emitter.emit(1);
    second();
    emitter.emit(2);
    first();
    third();
    expect(emitter.size).toBe(0);
    emitter.emit(3);
    const again = emitter.subscribe((value) => seen.push(`c${value}`));
    emitter.emit(4);
    again();
    again();
    emitter.emit(5);
    expect(seen).toEqual(['a1', 'a1', 'b1', 'a2', 'b2', 'c4']);
    expect(emitter.size).toBe(0);
  });

  it('lets a single listener unsubscribe a later one while it is called', () => {
    const emitter = new Emitter<number>();
    const seen: number[] = [];
    let later: (() => void) | undefined;
    emitter.subscribe((value) => {
      seen.push(value);
      later?.();
    });
    later = emitter.subscribe((value) => seen.push(-value));
    emitter.emit(1);
    emitter.emit(2);
    expect(seen).toEqual([1, -1, 2]);
  });
});

describe('StateSignal', () => {
  it('gives new listeners the current value and later only real changes', () => {
    const signal = new StateSignal('a');
    const listener = vi.fn();
    signal.subscribe(listener);
    signal.set('a');
    signal.set('b');
    expect(listener.mock.calls).toEqual([['a'], ['b']]);
    expect(signal.value).toBe('b');
  });
});
