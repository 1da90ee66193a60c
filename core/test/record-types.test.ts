import { describe, expect, expectTypeOf, it } from 'vitest';
import { type LocalFirstClient, type RecordData, Repository } from '../src/index.js';

// The type check (`pnpm typecheck`) is what these tests are about: each `@ts-expect-error`
// fails the check if the line under it ever compiles.

interface Address {
  city: string;
  zip?: string;
}

/** A plain interface, as an app writes one: no index signature. */
interface Todo {
  id: string;
  title: string;
  done: boolean;
  tags: string[];
  address?: Address;
  note: string | null;
}

describe('record types', () => {
  it('a repository takes a plain interface, and a typo in a field is a type error', () => {
    const todos = new Repository<Todo>({ name: 'todos', indexes: ['done'] });
    const todo: Todo = { id: 'a', title: 'Write', done: false, tags: [], note: null };
    expectTypeOf(todos.upsert).parameter(0).toEqualTypeOf<Todo>();
    // @ts-expect-error `tittle` is not a field of Todo
    todo.tittle;
    // @ts-expect-error an index that is not a field
    new Repository<Todo>({ name: 'other', indexes: ['tittle'] });
    expect(todos.getId(todo)).toBe('a');
  });

  it('fields that are not JSON do not make a record type', () => {
    interface WithDate {
      id: string;
      at: Date;
    }
    interface WithFunction {
      id: string;
      run: () => void;
    }
    interface WithNestedDate {
      id: string;
      history: { at: Date }[];
    }
    // @ts-expect-error a Date is not JSON
    new Repository<WithDate>({ name: 'dates' });
    // @ts-expect-error a function is not JSON
    new Repository<WithFunction>({ name: 'functions' });
    // @ts-expect-error nor is a Date inside an array of objects
    new Repository<WithNestedDate>({ name: 'nested' });
    expect(true).toBe(true);
  });

  it('records typed as RecordData, the default, still work', () => {
    const anything = new Repository({ name: 'anything' });
    expectTypeOf(anything).toEqualTypeOf<Repository<RecordData>>();
    const typed = (client: LocalFirstClient) => client.getRepository<Todo>('todos');
    expectTypeOf(typed).returns.toEqualTypeOf<Repository<Todo>>();
    expect(anything.name).toBe('anything');
  });
});
