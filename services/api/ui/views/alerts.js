import { call, enc, get, mayOperate } from '../api.js';
import { formatInstant, formatMs, formatRelative, h, show, table } from '../dom.js';
import { say, sayError } from '../notify.js';

const CLUSTER_CONDITIONS = new Set(['no-scheduler', 'scheduler-left', 'consumer-lag']);

/** Silence lengths offered; the API takes any from 1 s to 30 days (`nono alerts silence --for`). */
const SILENCE_FOR = [
  ['1 hour', 3_600_000],
  ['4 hours', 4 * 3_600_000],
  ['1 day', 86_400_000],
  ['1 week', 7 * 86_400_000],
];

/** Alerts (open by default), with acknowledge and silence for operators. */
export function alertsView() {
  const state = h(
    'select',
    { name: 'state', id: 'a-state' },
    h('option', { value: 'open' }, 'open'),
    h('option', { value: 'resolved' }, 'resolved'),
    h('option', { value: 'all' }, 'all'),
  );
  const list = h('div', { id: 'alert-list' });
  const actions = alertActionDialog();
  const view = {
    autoRefresh: true,
    element: h(
      'section',
      {},
      h('h2', {}, 'Alerts'),
      h(
        'p',
        { class: 'muted' },
        'Who created, changed or deleted which rule: ',
        h('a', { href: '#/audit?subject=alert-rule', id: 'rule-changes' }, 'rule changes'),
        '.',
      ),
      h(
        'form',
        { class: 'filters', onsubmit: (e) => (e.preventDefault(), void view.refresh().catch(sayError)) },
        state,
        h('button', { type: 'submit' }, 'Filter'),
      ),
      list,
      actions.element,
    ),
    async refresh() {
      const [body, operator] = await Promise.all([
        get(`/alerts?state=${state.value}&limit=200`),
        mayOperate(),
      ]);
      list.replaceChildren(
        alertTable(body.alerts, {
          withTask: true,
          act: operator ? actions.open : undefined,
          reload: () => view.refresh(),
          empty: state.value === 'open' ? 'No open alert.' : 'No alert.',
        }),
      );
    },
  };
  return view;
}

/**
 * Alerts as a table, shared by the alerts page and the task page. `act`, given only to
 * operators and admins, opens the acknowledge / silence dialog; viewers get no buttons.
 */
export function alertTable(alerts, { withTask = false, act, reload, empty = 'No open alert.' }) {
  return table(
    [
      'state',
      'condition',
      'rule',
      withTask ? 'task' : null,
      'summary',
      'opened',
      'last notified',
      'occurrences',
      act ? '' : null,
    ].filter((title) => title !== null),
    alerts.map((alert) =>
      h(
        'tr',
        {
          'data-alert': alert.id,
          'data-state': alertState(alert),
          class: alert.state === 'open' ? 'failure' : '',
        },
        h('td', {}, stateBadge(alert)),
        h('td', {}, alert.condition),
        h('td', { class: 'mono' }, alert.ruleId),
        withTask
          ? h(
              'td',
              {},
              // Cluster alerts name what they are about (`scheduler:<id>`, `cluster:…`): no task page.
              alert.taskId.includes(':')
                ? h('span', { class: 'mono' }, alert.taskId)
                : h('a', { href: `#/tasks/${enc(alert.taskId)}` }, alert.taskId),
            )
          : null,
        h('td', { class: 'small' }, alert.summary, noteOf(alert)),
        h(
          'td',
          { title: alert.openedAt },
          `${formatInstant(alert.openedAt)} (${formatRelative(alert.openedAt)})`,
        ),
        h('td', { title: alert.lastNotifiedAt }, formatRelative(alert.lastNotifiedAt)),
        h('td', {}, alert.occurrences),
        act
          ? h(
              'td',
              { class: 'actions' },
              alert.state === 'open'
                ? [
                    alert.acknowledged
                      ? null
                      : h(
                          'button',
                          { type: 'button', onclick: () => act(alert, 'ack', reload) },
                          'Acknowledge',
                        ),
                    h('button', { type: 'button', onclick: () => act(alert, 'silence', reload) }, 'Silence'),
                  ]
                : null,
            )
          : null,
      ),
    ),
    { empty },
  );
}

/** open, acknowledged, silenced (while the silence lasts) or resolved. */
function alertState(alert, now = Date.now()) {
  if (alert.state !== 'open') return 'resolved';
  if (alert.silencedUntil && Date.parse(alert.silencedUntil) > now) return 'silenced';
  return alert.acknowledged ? 'acknowledged' : 'open';
}

function stateBadge(alert) {
  const state = alertState(alert);
  const kind = state === 'open' ? 'bad' : state === 'resolved' ? 'good' : 'neutral';
  const text =
    state === 'silenced'
      ? `silenced until ${formatInstant(alert.silencedUntil)}`
      : state === 'resolved'
        ? `resolved (${alert.resolveReason ?? '?'}) ${formatRelative(alert.resolvedAt)}`
        : state;
  return h('span', { class: `badge ${kind}` }, text);
}

function noteOf(alert) {
  const notes = [];
  if (alert.acknowledged) notes.push(`acknowledged by ${alert.acknowledged.by}: ${alert.acknowledged.note}`);
  if (alert.silence?.note) notes.push(`silenced by ${alert.silence.by}: ${alert.silence.note}`);
  return notes.length === 0 ? null : h('div', { class: 'muted' }, notes.join('; '));
}

/**
 * One <dialog> per page for both actions: the table under it refreshes every few seconds,
 * so a note typed into the table itself would be wiped by the next refresh.
 */
export function alertActionDialog() {
  const title = h('p', { id: 'alert-action-title' });
  const note = h('textarea', { id: 'alert-note', name: 'note', rows: 3, maxlength: 2000 });
  const forMs = h(
    'select',
    { id: 'alert-silence-for', name: 'forMs' },
    SILENCE_FOR.map(([label, ms]) => h('option', { value: String(ms) }, label)),
  );
  const silenceRow = h('label', {}, 'Silence for ', forMs);
  const error = h('p', { class: 'error', id: 'alert-action-error' });
  const ok = h('button', { value: 'ok', id: 'alert-action-ok', class: 'primary' }, 'Confirm');
  const dialog = h(
    'dialog',
    { id: 'alert-action' },
    h(
      'form',
      { method: 'dialog' },
      title,
      silenceRow,
      h('label', {}, 'Note ', note),
      error,
      h('menu', {}, h('button', { value: 'cancel', id: 'alert-action-cancel' }, 'Cancel'), ok),
    ),
  );
  let pending;
  ok.addEventListener('click', async (event) => {
    event.preventDefault();
    if (pending === undefined) return;
    const { alert, kind, reload } = pending;
    const path = `/alerts/${enc(alert.id)}/${kind}`;
    const body =
      kind === 'ack'
        ? { note: note.value.trim() }
        : { forMs: Number(forMs.value), ...(note.value.trim() ? { note: note.value.trim() } : {}) };
    const forText = forMs.selectedOptions[0]?.textContent ?? '';
    try {
      await call('POST', path, { body });
      dialog.close('ok');
      say(
        kind === 'ack'
          ? `alert on ${alert.taskId} acknowledged`
          : `alert on ${alert.taskId} silenced for ${forText}`,
      );
      await reload?.();
    } catch (failure) {
      // Stays open with the problem named (an empty note, an alert resolved meanwhile…).
      error.textContent = failure.message;
      if (failure.status >= 500) sayError(failure);
    }
  });
  return {
    element: dialog,
    open(alert, kind, reload) {
      pending = { alert, kind, reload };
      show(
        title,
        kind === 'ack' ? 'Acknowledge' : 'Silence',
        ` the ${alert.condition} alert on `,
        h('strong', {}, alert.taskId),
        kind === 'ack'
          ? ': no more re-notifications; it stays open until its condition clears.'
          : ': no notification of any kind until the silence ends.',
      );
      silenceRow.hidden = kind !== 'silence';
      note.required = kind === 'ack';
      note.placeholder = kind === 'ack' ? 'why (required): on it, ticket…' : 'why (optional): maintenance…';
      note.value = '';
      error.textContent = '';
      dialog.showModal();
    },
  };
}

/** Whether a rule's scope takes in a task: the same rule as `ruleCovers` in libs/domain. */
export function ruleCoversTask(rule, task) {
  switch (rule.scope.kind) {
    case 'all':
      return true;
    case 'task':
      return rule.scope.taskId === task.id;
    case 'label': {
      const at = rule.scope.selector.indexOf(':');
      return task.labels?.[rule.scope.selector.slice(0, at)] === rule.scope.selector.slice(at + 1);
    }
    default:
      return false;
  }
}

/** A condition in words, e.g. "no success within 30 s of a due instant". */
export function describeCondition(condition) {
  switch (condition.kind) {
    case 'failed':
      return 'failed after its last attempt';
    case 'timed-out':
      return 'timed out after its last attempt';
    case 'lost':
      return 'lost';
    case 'skipped':
      return `skipped${condition.reasons ? ` (${condition.reasons.join(', ')})` : ''}`;
    case 'misfired':
      return `misfired${condition.actions ? ` (${condition.actions.join(', ')})` : ''}`;
    case 'consecutive-failures':
      return `${condition.count} failures in a row`;
    case 'dead-man':
      return `no success within ${formatMs(condition.graceMs)} of a due instant`;
    case 'success-rate':
      return `under ${condition.belowPercent} % succeeded over ${formatMs(condition.windowMs)}${condition.minRuns ? ` (at least ${condition.minRuns} runs)` : ''}`;
    case 'duration-above':
      return `an attempt takes over ${formatMs(condition.thresholdMs)}`;
    case 'lateness-above':
      return `fires over ${formatMs(condition.thresholdMs)} late`;
    case 'no-scheduler':
      return `no live scheduler for ${formatMs(condition.graceMs)}`;
    case 'scheduler-left':
      return 'a scheduler left';
    case 'consumer-lag':
      return `the ${condition.consumer} consumer over ${condition.aboveRecords} records behind`;
    default:
      return condition.kind;
  }
}

const CHANNEL_NAMES = {
  webhook: 'webhook',
  slack: 'Slack',
  teams: 'Microsoft Teams',
  'google-chat': 'Google Chat',
};

/**
 * A channel in words: its kind and where it goes. Only the host of a URL is shown: chat
 * webhook URLs carry their credentials in the path or the query.
 */
export function describeChannel(channel) {
  if (channel.kind === 'email') return `email to ${channel.to.join(', ')}`;
  let host = '?';
  try {
    host = new URL(channel.url).host;
  } catch {
    // A stored rule's URL was checked when it was written; '?' only if that ever changes.
  }
  return `${CHANNEL_NAMES[channel.kind] ?? channel.kind} (${host})`;
}

/** The rules whose scope takes in `task`, as a table (the task page). */
export async function rulesOfTask(task) {
  const { rules } = await get('/alerts/rules');
  // Cluster conditions (scope all) are about schedulers and consumers, not about this task.
  const applying = rules.filter(
    (rule) => !CLUSTER_CONDITIONS.has(rule.condition.kind) && ruleCoversTask(rule, task),
  );
  return table(
    ['rule', 'name', 'scope', 'condition', 'notifies', 'enabled'],
    applying.map((rule) =>
      h(
        'tr',
        { 'data-rule': rule.id, class: rule.enabled ? '' : 'is-paused' },
        h('td', { class: 'mono' }, rule.id),
        h('td', {}, rule.name),
        h(
          'td',
          {},
          rule.scope.kind === 'all'
            ? 'every task'
            : rule.scope.kind === 'task'
              ? 'this task'
              : rule.scope.selector,
        ),
        h('td', {}, describeCondition(rule.condition)),
        h(
          'td',
          {},
          rule.channels.length === 0 ? 'nobody (events only)' : rule.channels.map(describeChannel).join(', '),
          rule.renotifyEveryMs > 0
            ? h('span', { class: 'muted' }, `, again every ${formatMs(rule.renotifyEveryMs)} while it recurs`)
            : null,
        ),
        h('td', {}, rule.enabled ? 'yes' : 'no'),
      ),
    ),
    { empty: 'No alert rule applies to this task (`nono alerts rules apply -f` defines some).' },
  );
}
