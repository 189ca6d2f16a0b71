import { enc, get } from '../api.js';
import { FAILURES, formatInstant, formatRelative, h, show, statusBadge, table, taskState } from '../dom.js';

const HOUR_MS = 3_600_000;
/** Pages of 500 executions read for the last hour; past this the counts say "at least". */
const MAX_EXECUTION_PAGES = 4;
const NEXT_FIRES_SHOWN = 10;
const BACKENDS = [
  ['zookeeper', 'ZooKeeper'],
  ['kafka', 'Kafka'],
  ['history', 'History service'],
];

/**
 * The cluster at a glance: backends and live schedulers, fires and failures over the last
 * hour, the next fires, and what needs attention (paused tasks, tasks whose executions failed
 * in the last hour, open alerts). Every section reads its own backend and says "unavailable"
 * alone when that backend does not answer, so one dead service never blanks the page.
 */
export function overviewView() {
  const health = h('div', { id: 'ov-health' });
  const lastHour = h('div', { id: 'ov-last-hour' });
  const nextFires = h('div', { id: 'ov-next-fires' });
  const paused = h('div', { id: 'ov-paused' });
  const failing = h('div', { id: 'ov-failing' });
  const alerts = h('div', { id: 'ov-alerts' });
  return {
    autoRefresh: true,
    element: h(
      'section',
      { class: 'overview' },
      h('h2', {}, 'Overview'),
      h('h3', {}, 'Cluster'),
      health,
      h('h3', {}, 'Last hour'),
      lastHour,
      h('h3', {}, 'Next fires'),
      nextFires,
      h('h3', {}, 'Needs attention'),
      h('h4', {}, 'Paused tasks'),
      paused,
      h('h4', {}, 'Tasks with failed executions in the last hour'),
      failing,
      h('h4', {}, 'Open alerts'),
      alerts,
    ),
    async refresh() {
      const now = Date.now();
      const since = new Date(now - HOUR_MS).toISOString();
      const [status, cluster, active, pausedTasks, executions, openAlerts] = await Promise.all(
        [
          get('/status'),
          get('/schedulers'),
          get('/tasks?paused=false&limit=500'),
          get('/tasks?paused=true&limit=500'),
          executionsSince(since),
          get('/alerts?state=open&limit=200'),
        ].map(settle),
      );
      show(health, healthFacts(status, cluster));
      show(lastHour, lastHourFacts(executions));
      show(nextFires, nextFiresTable(active, now));
      show(paused, pausedTable(pausedTasks));
      show(failing, failingTable(executions));
      show(alerts, alertsSummary(openAlerts));
    },
  };
}

/** A promise's outcome as a value: `{ ok: true, value }` or `{ ok: false, error }`. */
function settle(promise) {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error) => ({ ok: false, error }),
  );
}

function unavailable(what, result) {
  return h('p', { class: 'error', 'data-unavailable': what }, `Unavailable: ${result.error.message}`);
}

/** Every execution whose nominal instant is within the last hour, newest first (keyset pages). */
async function executionsSince(from) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_EXECUTION_PAGES; page += 1) {
    const query = new URLSearchParams({ from, limit: '500' });
    if (cursor) query.set('cursor', cursor);
    const body = await get(`/executions?${query}`);
    items.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) return { items, complete: true };
  }
  return { items, complete: false };
}

/** One line per history replica when there are several: its state and whether reads go to it. */
function historyReplicaFacts(status) {
  const replicas = status.ok ? (status.value.historyReplicas ?? []) : [];
  if (replicas.length < 2) return [];
  return replicas.flatMap((replica) => [
    h('dt', {}, `History replica ${replica.replica}${replica.name ? ` (${replica.name})` : ''}`),
    h(
      'dd',
      { 'data-history-replica': replica.replica, class: replica.state === 'down' ? 'error' : '' },
      `${replica.state}${replica.readsHere ? ', reads go here' : ''} (${replica.detail})`,
    ),
  ]);
}

function healthFacts(status, cluster) {
  const rows = [];
  for (const [name, label] of BACKENDS) {
    const state = status.ok ? status.value[name] : undefined;
    rows.push(
      h('dt', {}, label),
      h(
        'dd',
        { 'data-backend-state': name, class: state?.reachable ? '' : 'error' },
        state === undefined
          ? 'unknown (no status)'
          : `${state.reachable ? 'ok' : 'unreachable'} (${state.detail})`,
      ),
    );
  }
  rows.push(...historyReplicaFacts(status));
  rows.push(
    h('dt', {}, 'Schedulers'),
    cluster.ok
      ? h(
          'dd',
          {
            'data-schedulers': cluster.value.schedulers.length,
            class: cluster.value.schedulers.length ? '' : 'error',
          },
          cluster.value.schedulers.length === 0
            ? 'none running: nothing fires'
            : h('a', { href: '#/schedulers' }, `${cluster.value.schedulers.length} live`),
        )
      : h(
          'dd',
          { class: 'error', 'data-unavailable': 'schedulers' },
          `unavailable: ${cluster.error.message}`,
        ),
  );
  const healthy =
    status.ok &&
    BACKENDS.every(([name]) => status.value[name]?.reachable) &&
    cluster.ok &&
    cluster.value.schedulers.length > 0;
  return [
    h(
      'p',
      { id: 'ov-verdict', class: healthy ? 'ok' : 'error' },
      healthy ? 'Healthy: every backend answers and schedulers are running.' : 'Not healthy: see below.',
    ),
    h('dl', { class: 'facts' }, rows),
  ];
}

function lastHourFacts(executions) {
  if (!executions.ok) return unavailable('history', executions);
  const { items, complete } = executions.value;
  const failures = items.filter((e) => FAILURES.has(e.status)).length;
  const atLeast = complete ? '' : 'at least ';
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Fires'),
    h('dd', { 'data-fires': items.length }, `${atLeast}${items.length}`),
    h('dt', {}, 'Failures'),
    h(
      'dd',
      { 'data-failures': failures, class: failures ? 'error' : '' },
      `${atLeast}${failures}`,
      h('a', { href: '#/executions' }, ' (executions)'),
    ),
  );
}

function nextFiresTable(active, now) {
  if (!active.ok) return unavailable('tasks', active);
  const upcoming = active.value.items
    .filter((item) => item.nextFireAt)
    .sort((a, b) => Date.parse(a.nextFireAt) - Date.parse(b.nextFireAt))
    .slice(0, NEXT_FIRES_SHOWN);
  const list = table(
    ['at', 'task', 'owner'],
    upcoming.map(({ task, owner, nextFireAt }) =>
      h(
        'tr',
        { 'data-task': task.id },
        h('td', { title: nextFireAt }, `${formatInstant(nextFireAt)} (${formatRelative(nextFireAt, now)})`),
        h('td', {}, taskLink(task.id)),
        h('td', {}, owner ?? '—'),
      ),
    ),
    { empty: 'No active task has a next fire.' },
  );
  return [list, moreThanRead(active.value, 'active')];
}

/** Tasks are read in one page of 500: past that, the section says it saw only part. */
function moreThanRead(page, which) {
  return page.nextCursor
    ? h('p', { class: 'muted' }, `Among the first 500 ${which} tasks only (the Tasks page lists them all).`)
    : null;
}

function pausedTable(pausedTasks) {
  if (!pausedTasks.ok) return unavailable('tasks', pausedTasks);
  const list = table(
    ['task', 'name', 'state'],
    pausedTasks.value.items.map(({ task }) =>
      h(
        'tr',
        { 'data-task': task.id },
        h('td', {}, taskLink(task.id)),
        h('td', {}, task.name),
        h('td', { class: 'paused' }, taskState(task)),
      ),
    ),
    { empty: 'No paused task.' },
  );
  return [list, moreThanRead(pausedTasks.value, 'paused')];
}

function failingTable(executions) {
  if (!executions.ok) return unavailable('history', executions);
  // Newest first, so the first failure seen per task is its latest.
  const byTask = new Map();
  for (const execution of executions.value.items) {
    if (!FAILURES.has(execution.status)) continue;
    const seen = byTask.get(execution.taskId);
    if (seen) seen.count += 1;
    else byTask.set(execution.taskId, { latest: execution, count: 1 });
  }
  return table(
    ['task', 'failures', 'latest'],
    [...byTask].map(([taskId, { latest, count }]) =>
      h(
        'tr',
        { 'data-task': taskId, class: 'failure' },
        h('td', {}, taskLink(taskId)),
        h('td', {}, count),
        h('td', {}, statusBadge(latest.status), ' ', formatRelative(latest.nominalTime)),
      ),
    ),
    { empty: 'No failed execution in the last hour.' },
  );
}

function alertsSummary(openAlerts) {
  if (!openAlerts.ok) return unavailable('alerts', openAlerts);
  const list = openAlerts.value.alerts;
  return table(
    ['condition', 'about', 'summary', 'opened'],
    list.map((alert) =>
      h(
        'tr',
        { 'data-alert': alert.id, class: 'failure' },
        h('td', {}, alert.condition),
        h('td', { class: 'mono' }, alert.taskId),
        h('td', { class: 'small' }, alert.summary),
        h('td', { title: alert.openedAt }, formatRelative(alert.openedAt)),
      ),
    ),
    { empty: 'No open alert.' },
  );
}

function taskLink(id) {
  return h('a', { href: `#/tasks/${enc(id)}`, class: 'id-cut', title: id }, id);
}
