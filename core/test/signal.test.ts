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
