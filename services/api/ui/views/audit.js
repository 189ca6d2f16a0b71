import { enc, get } from '../api.js';
import { describeDetail, eventName, formatInstant, formatRelative, h, table } from '../dom.js';
import { hashParams, keysetList } from '../keyset-list.js';
import { describeChannel, describeCondition } from './alerts.js';

const SUBJECTS = [
  ['', 'tasks, alert rules and calendars'],
  ['task', 'tasks'],
  ['alert-rule', 'alert rules'],
  ['calendar', 'calendars'],
];

/**
 * The audit trail (history's `/audit`): who changed, paused, resumed, deleted or triggered
 * which task, and who created, replaced or deleted which alert rule or calendar, newest first. Paged like
 * the executions page; the filters live in the URL (#/audit?subject=alert-rule).
 */
export function auditView() {
  const params = hashParams();
  const input = (name, attrs = {}) =>
    h('input', { name, id: `audit-${name}`, value: params.get(name) ?? '', ...attrs });
  const subject = h(
    'select',
    { name: 'subject', id: 'audit-subject' },
    SUBJECTS.map(([value, label]) =>
      h('option', { value, selected: params.get('subject') === value }, label),
    ),
  );
  const filters = h(
    'form',
    { class: 'filters', onsubmit: (e) => (e.preventDefault(), list.apply()) },
    subject,
    input('taskId', { placeholder: 'task id' }),
    input('ruleId', { placeholder: 'alert rule id' }),
    input('calendar', { placeholder: 'calendar' }),
    input('actor', { placeholder: 'actor (role:hash)' }),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'button', onclick: () => (filters.reset(), list.apply()) }, 'Clear'),
  );
  const rows = h('div', { id: 'audit-list' });
  const list = keysetList({
    route: '#/audit',
    form: filters,
    names: ['subject', 'taskId', 'ruleId', 'calendar', 'actor'],
    reload: () => view.refresh(),
  });
  const view = {
    autoRefresh: true,
    element: h('section', {}, h('h2', {}, 'Audit'), filters, rows, list.pager),
    async refresh() {
      const q = list.filters();
      q.set('limit', '50');
      const cursor = list.cursor();
      if (cursor) q.set('cursor', cursor);
      const page = await get(`/audit?${q}`);
      rows.replaceChildren(auditTable(page.items));
      list.shown(page);
    },
  };
  return view;
}

function auditTable(items) {
  return table(
    ['at', 'about', 'what', 'who', 'revision', 'detail'],
    items.map((a) =>
      h(
        'tr',
        { 'data-audit': a.eventId, 'data-subject': a.subject ?? 'task' },
        h('td', { title: a.at }, `${formatInstant(a.at)} (${formatRelative(a.at)})`),
        h(
          'td',
          {},
          a.subject === 'alert-rule'
            ? h('span', {}, 'alert rule ', h('span', { class: 'mono' }, a.ruleId))
            : a.subject === 'calendar'
              ? h('span', {}, 'calendar ', h('span', { class: 'mono' }, a.calendar))
              : h('a', { href: `#/tasks/${enc(a.taskId)}` }, a.taskId),
        ),
        h('td', {}, eventName(a.type)),
        h('td', { class: 'mono' }, a.actorId ?? '—'),
        h('td', {}, a.revision ?? '—'),
        h(
          'td',
          { class: 'small' },
          a.subject === 'alert-rule'
            ? describeRuleChange(a)
            : a.subject === 'calendar'
              ? describeCalendarChange(a)
              : describeDetail(a.detail),
        ),
      ),
    ),
    { empty: 'No audit entries yet (they arrive through Kafka and history).' },
  );
}

/** What a rule change did, in words: the new rule, what changed, or what was deleted. */
export function describeRuleChange({ before, after }) {
  if (before && after) {
    const changes = [];
    if (before.name !== after.name) changes.push(`name "${before.name}" → "${after.name}"`);
    if (before.enabled !== after.enabled) changes.push(after.enabled ? 'enabled' : 'disabled');
    if (JSON.stringify(before.scope) !== JSON.stringify(after.scope))
      changes.push(`scope ${describeScope(before.scope)} → ${describeScope(after.scope)}`);
    if (JSON.stringify(before.condition) !== JSON.stringify(after.condition))
      changes.push(
        `condition "${describeCondition(before.condition)}" → "${describeCondition(after.condition)}"`,
      );
    if (JSON.stringify(before.channels) !== JSON.stringify(after.channels))
      changes.push(`notifies ${describeChannels(before.channels)} → ${describeChannels(after.channels)}`);
    if (before.renotifyEveryMs !== after.renotifyEveryMs) changes.push('re-notification interval');
    if (before.description !== after.description) changes.push('description');
    return changes.length === 0 ? 'no change (written again)' : changes.join('; ');
  }
  const rule = after ?? before;
  if (!rule) return '';
  const what = `"${rule.name}": ${describeCondition(rule.condition)}, ${describeScope(rule.scope)}, notifies ${describeChannels(rule.channels)}`;
  return after ? what : `was ${what}`;
}

function describeScope(scope) {
  if (scope.kind === 'all') return 'every task';
  if (scope.kind === 'task') return `task ${scope.taskId}`;
  return `label ${scope.selector}`;
}

function describeChannels(channels) {
  return channels.length === 0 ? 'nobody' : channels.map(describeChannel).join(', ');
}

/** What a calendar change did: its zone and how many dates and ranges it excludes, before and after. */
function describeCalendarChange({ before, after }) {
  const size = (calendar) =>
    `${calendar.timeZone}, ${calendar.dates?.length ?? 0} date(s), ${calendar.ranges?.length ?? 0} range(s)`;
  if (before && after) return `${size(before)} → ${size(after)}`;
  const calendar = after ?? before;
  return calendar ? size(calendar) : '';
}
