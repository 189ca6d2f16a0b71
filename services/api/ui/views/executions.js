import { get } from '../api.js';
import { EXECUTION_STATUSES } from '../execution-statuses.js';
import { h, table } from '../dom.js';
import { hashParams, keysetList } from '../keyset-list.js';
import { executionRow } from './task-detail.js';

// '' is "any status"; the statuses come from libs/domain through the API.
const STATUSES = ['', ...EXECUTION_STATUSES];

/**
 * Executions across tasks, newest first: filter by task, status, scheduler and time range,
 * page forward with history's cursor and back with the cursors already seen. The filters
 * live in the URL (#/executions?status=failed) so a view can be shared.
 */
export function executionsView() {
  const params = hashParams();
  const input = (name, attrs = {}) =>
    h('input', { name, id: `x-${name}`, value: params.get(name) ?? '', ...attrs });
  const status = h(
    'select',
    { name: 'status', id: 'x-status' },
    STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s || 'any status')),
  );
  const filters = h(
    'form',
    { class: 'filters', onsubmit: (e) => (e.preventDefault(), list.apply()) },
    input('taskId', { placeholder: 'task id' }),
    status,
    input('schedulerId', { placeholder: 'scheduler id' }),
    h('label', {}, 'from ', input('from', { type: 'datetime-local', step: 1 })),
    h('label', {}, 'to ', input('to', { type: 'datetime-local', step: 1 })),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'button', onclick: () => (filters.reset(), list.apply()) }, 'Clear'),
  );
  const rows = h('div', { id: 'execution-list' });
  const list = keysetList({
    route: '#/executions',
    form: filters,
    names: ['taskId', 'status', 'schedulerId', 'from', 'to'],
    reload: () => view.refresh(),
  });

  function query() {
    const q = list.filters();
    for (const name of ['from', 'to']) {
      const local = q.get(name);
      // datetime-local is the browser's wall clock; history wants an instant with an offset.
      if (local) q.set(name, new Date(local).toISOString());
    }
    q.set('limit', '25');
    return q;
  }

  const view = {
    autoRefresh: true,
    element: h('section', {}, h('h2', {}, 'Executions'), filters, rows, list.pager),
    async refresh() {
      const q = query();
      const cursor = list.cursor();
      if (cursor) q.set('cursor', cursor);
      const page = await get(`/executions?${q}`);
      rows.replaceChildren(
        table(
          ['task', 'nominal', 'status', 'lateness', 'duration', 'attempts', 'HTTP', 'scheduler', 'error'],
          page.items.map((e) => executionRow(e, { withTask: true })),
          { empty: 'No executions match.' },
        ),
      );
      list.shown(page);
    },
  };
  return view;
}
