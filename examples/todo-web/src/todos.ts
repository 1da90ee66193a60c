import { Repository, uuidv7 } from '@local-first/core';

/** One todo, as stored and synced. */
export interface Todo {
  id: string;
  title: string;
  done: boolean;
  /** Milliseconds since the epoch; the list is ordered by it, so every device shows one order. */
  createdAt: number;
}

/** The writes the UI makes. Each resolves once the change is in local storage. */
export interface TodoActions {
  add(title: string): Promise<void>;
  rename(todo: Todo, title: string): Promise<void>;
  toggle(todo: Todo): Promise<void>;
  remove(todo: Todo): Promise<void>;
}

/** The user's own list (private per user on a server with rules), or a shared one by name. */
export function createTodoRepository(name = 'todos'): Repository<Todo> {
  return new Repository<Todo>({ name });
}

export function todoActions(todos: Repository<Todo>): TodoActions {
  return {
    async add(title) {
      const trimmed = title.trim();
      if (!trimmed) return;
      // uuidv7 ids are unique across devices with no coordination, so offline adds never clash.
      await todos.upsert({ id: uuidv7(), title: trimmed, done: false, createdAt: Date.now() });
    },
    async rename(todo, title) {
      const trimmed = title.trim();
      if (!trimmed) return this.remove(todo);
      if (trimmed === todo.title) return;
      await todos.upsert({ ...todo, title: trimmed });
    },
    async toggle(todo) {
      await todos.upsert({ ...todo, done: !todo.done });
    },
    async remove(todo) {
      await todos.delete(todo.id);
    },
  };
}
