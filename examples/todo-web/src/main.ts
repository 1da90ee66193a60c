import { startTodoApp } from './app.js';
import { TodoListView } from './list-view.js';
import { reportError } from './report.js';
import { showConnection, showPending } from './status-view.js';
import type { Todo } from './todos.js';

function byTestId<T extends HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`index.html has no element with data-testid="${id}"`);
  return found;
}

function showCount(element: HTMLElement, todos: readonly Todo[]): void {
  const open = todos.filter((todo) => !todo.done).length;
  element.textContent =
    todos.length === 0 ? 'Nothing to do yet' : `${open} of ${todos.length} left to do`;
}

async function main(): Promise<void> {
  const app = await startTodoApp();
  showConnection(byTestId('connection'), app.sync.stateChanges);
  showPending(byTestId('pending'), app.client);

  const list = new TodoListView(byTestId('todo-list'), app.actions);
  const count = byTestId('todo-count');
  // The id breaks ties, so todos made in the same millisecond stand in one order everywhere.
  const todos = app.todos.query().orderBy('createdAt').orderBy('id').watch();
  todos.onError(reportError);
  todos.subscribe((items) => {
    list.render(items);
    showCount(count, items);
  });

  const input = byTestId<HTMLInputElement>('new-todo');
  byTestId<HTMLFormElement>('new-todo-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const title = input.value;
    input.value = '';
    app.actions.add(title).catch(reportError);
  });
  // Tests (and the curious) can tell a page that is ready from one still loading.
  document.body.dataset.ready = 'true';
}

main().catch(reportError);
