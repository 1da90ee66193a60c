import { DEMO_ACCOUNTS, switchTo } from './accounts.js';
import { type SharedList, startTodoApp, type TodoApp } from './app.js';
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

/** Keeps a list element in step with a repository, ordered as on every device. */
function showList(
  listElement: HTMLElement,
  countElement: HTMLElement,
  list: Pick<SharedList, 'todos' | 'actions'>,
): void {
  const view = new TodoListView(listElement, list.actions);
  // The id breaks ties, so todos made in the same millisecond stand in one order everywhere.
  const todos = list.todos.query().orderBy('createdAt').orderBy('id').watch();
  todos.onError(reportError);
  todos.subscribe((items) => {
    view.render(items);
    showCount(countElement, items);
  });
}

/** A form that adds what is typed into it. */
function addOnSubmit(
  form: HTMLFormElement,
  input: HTMLInputElement,
  add: (t: string) => Promise<void>,
) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const title = input.value;
    input.value = '';
    add(title).catch(reportError);
  });
}

/** Who the page is open for, and a way to open it as another demo account. */
function showAccounts(element: HTMLElement, app: TodoApp): void {
  const label = document.createElement('span');
  label.dataset.testid = 'account';
  label.textContent = app.account ? `Signed in as ${app.account.name}` : 'Not signed in';
  element.append(label);
  for (const account of [...DEMO_ACCOUNTS, undefined]) {
    if (account?.name === app.account?.name) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.testid = `sign-in-${account?.name ?? 'none'}`;
    button.textContent = account ? `Sign in as ${account.name}` : 'Sign out';
    button.addEventListener('click', () => switchTo(window.location, account));
    element.append(button);
  }
}

/** One section per shared list: a heading, the list, and a form to add to it. */
function showSharedLists(container: HTMLElement, lists: readonly SharedList[]): void {
  for (const list of lists) {
    const section = document.createElement('section');
    section.className = 'shared';
    section.dataset.testid = `shared-${list.id}`;
    const heading = document.createElement('h2');
    heading.textContent = `Shared list: ${list.id}`;
    const form = document.createElement('form');
    form.className = 'new-todo';
    const input = document.createElement('input');
    input.placeholder = `Add to ${list.id}`;
    input.setAttribute('aria-label', `New item for ${list.id}`);
    input.dataset.testid = 'new-todo';
    const submit = document.createElement('button');
    submit.type = 'submit';
    submit.textContent = 'Add';
    form.append(input, submit);
    const items = document.createElement('ul');
    items.className = 'todo-list';
    const count = document.createElement('footer');
    count.className = 'app-footer';
    section.append(heading, form, items, count);
    container.append(section);
    showList(items, count, list);
    addOnSubmit(form, input, (title) => list.actions.add(title));
  }
}

async function main(): Promise<void> {
  const app = await startTodoApp();
  showConnection(byTestId('connection'), app.sync.connection);
  showPending(byTestId('pending'), app.client);
  showAccounts(byTestId('accounts'), app);
  showList(byTestId('todo-list'), byTestId('todo-count'), app);
  addOnSubmit(byTestId<HTMLFormElement>('new-todo-form'), byTestId('new-todo'), (title) =>
    app.actions.add(title),
  );
  showSharedLists(byTestId('shared-lists'), app.shared);
  // A revoked list or a refused write is the server's word: say so rather than fail silently.
  app.client.rejections.subscribe((rejection) =>
    reportError(new Error(`${rejection.repository}: ${rejection.message}`)),
  );
  // Which tab holds the store and the socket for all of them (devtools, tests).
  app.storage.leading.subscribe((leading) => {
    document.body.dataset.leader = String(leading);
  });
  // Tests (and the curious) can tell a page that is ready from one still loading.
  document.body.dataset.ready = 'true';
}

main().catch(reportError);
