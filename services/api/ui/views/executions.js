import { get } from '../api.js';
import { EXECUTION_STATUSES } from '../execution-statuses.js';
import { h, table } from '../dom.js';
import { sayError } from '../notify.js';
import { executionRow } from './task-detail.js';

// '' is "any status"; the statuses come from libs/domain through the API.
const STATUSES = ['', ...EXECUTION_STATUSES];

/**
 * Executions across tasks, newest first: filter by task, status, scheduler and time range,
 * page forward with history's cursor and back with the cursors already seen. The filters
 * live in the URL (#/executions?status=failed) so a view can be shared.
 */
export function executionsView() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const input = (name, attrs = {}) =>
    h('input', { name, id: `x-${name}`, value: params.get(name) ?? '', ...attrs });
  const status = h(
    'select',
    { name: 'status', id: 'x-status' },
    STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s || 'any status')),
  );
  const filters = h(
    'form',
    { class: 'filters', onsubmit: (e) => (e.preventDefault(), apply()) },
    input('taskId', { placeholder: 'task id' }),
    status,
    input('schedulerId', { placeholder: 'scheduler id' }),
    h('label', {}, 'from ', input('from', { type: 'datetime-local', step: 1 })),
    h('label', {}, 'to ', input('to', { type: 'datetime-local', step: 1 })),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'button', onclick: () => (filters.reset(), apply()) }, 'Clear'),
  );
  const list = h('div', { id: 'execution-list' });
  const back = h(
    'button',
    { type: 'button', disabled: true, onclick: () => (cursors.pop(), void view.refresh().catch(sayError)) },
    '← Newer',
  );
  const next = h(
    'button',
    {
      type: 'button',
      disabled: true,
      onclick: () => (cursors.push(nextCursor), void view.refresh().catch(sayError)),
    },
    'Older →',
  );
  const where = h('span', { class: 'muted' });
  // cursors[i] opens page i; page 0 has none. Auto-refresh reloads the page being looked at.
  const cursors = [null];
  let nextCursor = null;

  function apply() {
    const shown = new URLSearchParams();
    for (const name of ['taskId', 'status', 'schedulerId', 'from', 'to']) {
      const value = filters.elements.namedItem(name).value.trim();
      if (value) shown.set(name, value);
    }
    const hash = `#/executions${shown.size > 0 ? `?${shown}` : ''}`;
    // A new hash re-creates this view from the URL; the same one just reloads page 1.
    if (hash !== location.hash) location.hash = hash;
    else {
      cursors.splice(1);
      void view.refresh().catch(sayError);
    }
  }

  function query() {
    const q = new URLSearchParams({ limit: '25' });
    for (const name of ['taskId', 'schedulerId'])
      if (filters.elements.namedItem(name).value.trim())
        q.set(name, filters.elements.namedItem(name).value.trim());
    if (status.value) q.set('status', status.value);
    for (const name of ['from', 'to']) {
      const local = filters.elements.namedItem(name).value;
      // datetime-local is the browser's wall clock; history wants an instant with an offset.
      if (local) q.set(name, new Date(local).toISOString());
    }
    return q;
  }

  const view = {
    autoRefresh: true,
    element: h(
      'section',
      {},
      h('h2', {}, 'Executions'),
      filters,
      list,
      h('div', { class: 'pager' }, back, where, next),
    ),
    async refresh() {
      const q = query();
      const cursor = cursors.at(-1);
      if (cursor) q.set('cursor', cursor);
      const page = await get(`/executions?${q}`);
      nextCursor = page.nextCursor;
      list.replaceChildren(
        table(
          ['task', 'nominal', 'status', 'lateness', 'duration', 'attempts', 'HTTP', 'scheduler', 'error'],
          page.items.map((e) => executionRow(e, { withTask: true })),
          { empty: 'No executions match.' },
        ),
      );
      back.disabled = cursors.length <= 1;
      next.disabled = !nextCursor;
      where.textContent = `page ${cursors.length}`;
    },
  };
  return view;
}
