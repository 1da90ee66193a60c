import { reportError } from './report.js';
import type { Todo, TodoActions } from './todos.js';

/**
 * The list, kept in step with the query results by id: rows are reused and moved, never
 * rebuilt, so a change arriving from another device does not interrupt an edit in progress.
 */
export class TodoListView {
  private readonly rows = new Map<string, TodoRow>();

  constructor(
    private readonly list: HTMLElement,
    private readonly actions: TodoActions,
  ) {}

  render(todos: readonly Todo[]): void {
    const current = new Set(todos.map((todo) => todo.id));
    for (const [id, row] of this.rows) {
      if (current.has(id)) continue;
      row.element.remove();
      this.rows.delete(id);
    }
    const placed = todos.map((todo) => {
      let row = this.rows.get(todo.id);
      if (!row) {
        row = new TodoRow(this.actions);
        this.rows.set(todo.id, row);
      }
      row.show(todo);
      return row.element;
    });
    // A row being edited stays where it is in the document: moving it would blur its editor,
    // and the blur would save a half-typed title. The other rows are placed around it.
    const anchor = todos.findIndex((todo) => this.rows.get(todo.id)?.isEditing);
    if (anchor < 0) {
      this.placeAfter(null, placed);
      return;
    }
    const editing = placed[anchor]!;
    if (!editing.isConnected) this.list.append(editing);
    let next: Element = editing;
    for (let i = anchor - 1; i >= 0; i--) {
      const row = placed[i]!;
      if (row.nextElementSibling !== next) this.list.insertBefore(row, next);
      next = row;
    }
    this.placeAfter(editing, placed.slice(anchor + 1));
  }

  /** Puts `rows` in order right after `previous` (at the start when null), moving only strays. */
  private placeAfter(previous: Element | null, rows: readonly Element[]): void {
    for (const row of rows) {
      const expected: Element | null = previous
        ? previous.nextElementSibling
        : this.list.firstElementChild;
      if (expected !== row) this.list.insertBefore(row, expected);
      previous = row;
    }
  }
}

/** One todo: a checkbox, its title (double-click or the pencil to edit) and a delete button. */
class TodoRow {
  readonly element = element('li', { class: 'todo', 'data-testid': 'todo-item' });
  private readonly checkbox = element('input', {
    type: 'checkbox',
    class: 'todo-toggle',
    'data-testid': 'todo-toggle',
    'aria-label': 'Done',
  });
  private readonly title = element('span', { class: 'todo-title', 'data-testid': 'todo-title' });
  private readonly editor = element('input', {
    class: 'todo-editor',
    'data-testid': 'todo-edit-input',
    'aria-label': 'Title',
  });
  private todo: Todo | undefined;
  private editing = false;

  /** Whether the title's editor is open. */
  get isEditing(): boolean {
    return this.editing;
  }

  constructor(private readonly actions: TodoActions) {
    const edit = element('button', {
      type: 'button',
      class: 'icon-button',
      'data-testid': 'todo-edit',
      'aria-label': 'Edit',
      title: 'Edit',
    });
    edit.textContent = '✎';
    const remove = element('button', {
      type: 'button',
      class: 'icon-button danger',
      'data-testid': 'todo-delete',
      'aria-label': 'Delete',
      title: 'Delete',
    });
    remove.textContent = '✕';
    this.element.append(this.checkbox, this.title, edit, remove);

    this.checkbox.addEventListener('change', () => this.run((todo) => this.actions.toggle(todo)));
    this.title.addEventListener('dblclick', () => this.startEditing());
    edit.addEventListener('click', () => this.startEditing());
    remove.addEventListener('click', () => this.run((todo) => this.actions.remove(todo)));
    this.editor.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') this.stopEditing(true);
      if (event.key === 'Escape') this.stopEditing(false);
    });
    this.editor.addEventListener('blur', () => this.stopEditing(true));
  }

  show(todo: Todo): void {
    this.todo = todo;
    this.element.dataset.id = todo.id;
    this.element.dataset.done = String(todo.done);
    this.element.classList.toggle('done', todo.done);
    this.checkbox.checked = todo.done;
    this.title.textContent = todo.title;
  }

  private startEditing(): void {
    if (this.editing || !this.todo) return;
    this.editing = true;
    this.editor.value = this.todo.title;
    this.title.replaceWith(this.editor);
    this.element.classList.add('editing');
    this.editor.focus();
    this.editor.select();
  }

  private stopEditing(save: boolean): void {
    // Enter removes the editor, which fires blur: the second call must do nothing.
    if (!this.editing) return;
    this.editing = false;
    this.element.classList.remove('editing');
    this.editor.replaceWith(this.title);
    const title = this.editor.value;
    if (save) this.run((todo) => this.actions.rename(todo, title));
  }

  private run(action: (todo: Todo) => Promise<void>): void {
    if (this.todo) action(this.todo).catch(reportError);
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string>,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}
