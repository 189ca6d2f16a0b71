import { call, can, enc, get } from '../api.js';
import {
  confirmAction,
  describeSchedule,
  formatInstant,
  formatRelative,
  h,
  statusBadge,
  table,
  taskState,
} from '../dom.js';
import { say, sayError } from '../notify.js';

/** Tasks: filter, page, and the everyday actions; rows link to the detail page. */
export function tasksView() {
  const label = h('input', { name: 'label', placeholder: 'label key:value' });
  const paused = h(
    'select',
    { name: 'paused' },
    h('option', { value: '' }, 'all'),
    h('option', { value: 'false' }, 'active'),
    h('option', { value: 'true' }, 'paused'),
  );
  const list = h('div', { id: 'task-list' });
  const more = h('button', { type: 'button', hidden: true }, 'More');
  let pages = 1;
  const view = {
    autoRefresh: true,
    element: h(
      'section',
      {},
      h(
        'div',
        { class: 'title-row' },
        h('h2', {}, 'Tasks'),
        can('admin')
          ? h('a', { class: 'button primary', href: '#/tasks/new', id: 'new-task' }, 'New task')
          : null,
      ),
      h(
        'form',
        {
          class: 'filters',
          onsubmit: (e) => (e.preventDefault(), (pages = 1), void view.refresh().catch(sayError)),
        },
        label,
        paused,
        h('button', { type: 'submit' }, 'Filter'),
      ),
      list,
      more,
    ),
    async refresh() {
      const items = [];
      let cursor = null;
      for (let page = 0; page < pages; page += 1) {
        const query = new URLSearchParams({ limit: '50' });
        if (label.value) query.set('label', label.value);
        if (paused.value) query.set('paused', paused.value);
        if (cursor) query.set('after', cursor);
        const body = await get(`/tasks?${query}`);
        items.push(...body.items);
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      const lastResults = await latestResults();
      more.hidden = !cursor;
      list.replaceChildren(
        table(
          ['id', 'name', 'schedule', 'state', 'next fire', 'last result', 'owner', ''],
          items.map((item) => taskRow(item, lastResults, () => view.refresh())),
          { empty: can('admin') ? 'No tasks yet: define one with "New task".' : 'No tasks yet.' },
        ),
      );
    },
  };
  more.addEventListener('click', () => {
    pages += 1;
    void view.refresh().catch(sayError);
  });
  return view;
}

/**
 * The newest execution per task among the latest 200 in history: a task that has not run
 * among them shows "—". History being down must not hide the list, so failure is tolerated.
 */
async function latestResults() {
  try {
    const page = await get('/executions?limit=200');
    const latest = new Map();
    for (const execution of page.items)
      if (!latest.has(execution.taskId)) latest.set(execution.taskId, execution);
    return latest;
  } catch {
    return undefined;
  }
}

function taskRow({ task, owner, nextFireAt }, lastResults, reload) {
  const id = enc(task.id);
  const last = lastResults?.get(task.id);
  return h(
    'tr',
    { 'data-task': task.id, class: task.paused ? 'is-paused' : '' },
    h('td', {}, h('a', { href: `#/tasks/${id}`, class: 'id-cut', title: task.id }, task.id)),
    h('td', {}, task.name),
    h('td', { class: 'mono' }, describeSchedule(task.schedule)),
    h('td', { class: task.paused ? 'paused' : '' }, taskState(task)),
    h(
      'td',
      { title: nextFireAt ?? '' },
      task.paused || !nextFireAt ? '—' : `${formatInstant(nextFireAt)} (${formatRelative(nextFireAt)})`,
    ),
    h(
      'td',
      {},
      lastResults === undefined
        ? '?'
        : last
          ? [statusBadge(last.status), ' ', h('span', { class: 'muted' }, formatRelative(last.nominalTime))]
          : '—',
    ),
    h('td', {}, owner ?? '—'),
    h('td', { class: 'actions' }, taskActions(task, reload)),
  );
}

/**
 * Pause/resume, run now (operator), edit, delete (admin): shared by the list and the detail
 * page. Only what the signed-in role may do is offered; the API checks again on each call.
 */
export function taskActions(task, reload, afterDelete) {
  const id = enc(task.id);
  let deleted = false;
  const act = (text, run, className) =>
    h(
      'button',
      {
        type: 'button',
        class: className,
        onclick: async (event) => {
          event.stopPropagation();
          try {
            const message = await run();
            if (message) say(message);
            if (deleted && afterDelete) afterDelete();
            else await reload();
          } catch (error) {
            sayError(error);
          }
        },
      },
      text,
    );
  return [
    !can('operator')
      ? null
      : task.paused
        ? act('Resume', async () => (await call('POST', `/tasks/${id}/resume`), `${task.id} resumed`))
        : act(
            'Pause',
            async () => (await call('POST', `/tasks/${id}/pause`, { body: {} }), `${task.id} paused`),
          ),
    can('operator') &&
      act(
        'Run now',
        async () =>
          `${task.id} triggered: execution ${(await call('POST', `/tasks/${id}/trigger`, { body: {} })).body.executionId}`,
      ),
    can('admin') && h('a', { class: 'button', href: `#/tasks/${id}/edit` }, 'Edit'),
    can('admin') &&
      act(
        'Delete',
        async () => {
          if (
            !(await confirmAction(
              `Delete task ${task.id}? Its schedule stops and its definition is removed; history is kept.`,
            ))
          )
            return '';
          await call('DELETE', `/tasks/${id}`);
          deleted = true;
          return `${task.id} deleted`;
        },
        'danger',
      ),
  ];
}
