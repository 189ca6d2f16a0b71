import { call, enc, get, mayOperate } from '../api.js';
import { durationChart, legend, successRateChart } from '../chart.js';
import {
  describeDetail,
  describeSchedule,
  eventName,
  formatInstant,
  formatMs,
  formatRelative,
  h,
  show,
  statusBadge,
  table,
  taskState,
} from '../dom.js';
import { alertActionDialog, alertTable, rulesOfTask } from './alerts.js';
import { FAILED_EXECUTION_STATUSES, INSTANT_FAILURE_ORDER } from '../execution-statuses.js';
import { taskActions } from './tasks.js';
import { backfillSection } from './backfills.js';

/** Windows of the charts: bucket count and size; each bucket is one /reports/tasks/:id call. */
const WINDOWS = {
  '1h': { buckets: 12, sizeMs: 5 * 60_000, label: 'last hour' },
  '24h': { buckets: 24, sizeMs: 3_600_000, label: 'last 24 hours' },
  '7d': { buckets: 14, sizeMs: 12 * 3_600_000, label: 'last 7 days' },
};
/** Ledger windows (the latest instants first; the summary covers the whole window). */
const LEDGER_WINDOWS = { '10m': 10 * 60_000, '1h': 3_600_000, '24h': 86_400_000 };
const LEDGER_ROWS = 30;
/** Reports are aggregates over many rows: refreshed less often than the rest of the page. */
const REPORT_REFRESH_MS = 30_000;

/** One task: definition, next fires, recent executions, success/duration charts, audit trail. */
export function taskDetailView(taskId) {
  const id = enc(taskId);
  const head = h('div', { class: 'task-head' });
  const executions = h('div');
  const charts = h('div', { class: 'charts' });
  const audit = h('div');
  const fires = h('div', { class: 'fires' });
  const ledger = h('div', { id: 'ledger' });
  const alerts = h('div', { id: 'task-alerts' });
  const rules = h('div', { id: 'task-rules' });
  const alertActions = alertActionDialog();
  const backfills = backfillSection(taskId, () => view.refresh());
  let ledgerKey = '10m';
  const ledgerPicker = h(
    'select',
    { id: 'ledger-window', onchange: () => ((ledgerKey = ledgerPicker.value), void view.refresh()) },
    Object.keys(LEDGER_WINDOWS).map((key) => h('option', { value: key }, `last ${key}`)),
  );
  let windowKey = '1h';
  let reportsAt = 0;
  const windowPicker = h(
    'select',
    {
      id: 'chart-window',
      onchange: () => ((windowKey = windowPicker.value), (reportsAt = 0), void view.refresh()),
    },
    Object.entries(WINDOWS).map(([key, w]) => h('option', { value: key }, w.label)),
  );

  const view = {
    autoRefresh: true,
    element: h(
      'section',
      { class: 'detail' },
      h('p', {}, h('a', { href: '#/tasks' }, '← all tasks')),
      head,
      h(
        'div',
        { class: 'columns' },
        h('div', {}, h('h3', {}, 'Recent executions'), executions),
        h('aside', {}, h('h3', {}, 'Next fires'), fires),
      ),
      h('h3', {}, 'Open alerts'),
      alerts,
      h('h3', {}, 'Alert rules that apply'),
      rules,
      alertActions.element,
      h('div', { class: 'title-row' }, h('h3', {}, 'Success rate and duration'), windowPicker),
      charts,
      h(
        'div',
        { class: 'title-row' },
        h('h3', {}, 'Ledger: every due instant and what happened to it'),
        ledgerPicker,
      ),
      ledger,
      h('h3', {}, 'Backfills: past instants fired again under their original execution ids'),
      backfills.element,
      h('h3', {}, 'Audit trail'),
      audit,
    ),
    async refresh() {
      const [task, preview] = await Promise.all([
        call('GET', `/tasks/${id}`),
        get(`/tasks/${id}/preview?count=5`),
      ]);
      renderHead(task.body);
      show(
        fires,
        task.body.paused
          ? h('p', { class: 'paused' }, 'Paused: these are the instants it would fire at.')
          : null,
        h(
          'ol',
          {},
          preview.fireTimes.map((f) =>
            h('li', { title: f.utc }, `${formatInstant(f.utc)} (${formatRelative(f.utc)})`),
          ),
        ),
        preview.dstEffects.length === 0
          ? null
          : h(
              'ul',
              { class: 'muted' },
              preview.dstEffects.map((effect) => h('li', {}, effect.message)),
            ),
      );
      await Promise.all([
        renderSection(executions, renderExecutions),
        renderSection(audit, renderAudit),
        renderSection(ledger, renderLedger),
        renderSection(backfills.list, backfills.renderList),
        renderSection(alerts, renderAlerts),
        renderSection(rules, () => rulesOfTask(task.body)),
        Date.now() - reportsAt > REPORT_REFRESH_MS
          ? renderSection(charts, renderCharts).then(() => (reportsAt = Date.now()))
          : undefined,
      ]);
    },
  };

  function renderHead(task) {
    show(
      head,
      h(
        'div',
        { class: 'title-row' },
        h(
          'h2',
          { class: 'id-cut', title: `${task.name} (${task.id})` },
          task.name,
          ' ',
          h('small', { class: 'mono' }, task.id),
        ),
        h(
          'div',
          { class: 'actions' },
          taskActions(
            task,
            () => view.refresh(),
            () => (location.hash = '#/tasks'),
          ),
        ),
      ),
      h(
        'dl',
        { class: 'facts' },
        fact('state', taskState(task), task.paused ? 'paused' : ''),
        fact('schedule', describeSchedule(task.schedule)),
        task.target.group === undefined
          ? fact('target', `${task.target.method} ${task.target.url}`)
          : fact(
              'target',
              h(
                'span',
                {},
                task.target.route === 'shard'
                  ? `${task.target.method} ${task.target.shards} shards over group `
                  : task.target.route === 'broadcast'
                    ? `${task.target.method} every member of group `
                    : `${task.target.method} a member of group `,
                h('a', { href: '#/groups' }, task.target.group),
                ` (${task.target.route})${task.target.path ? `, path ${task.target.path}` : ''}`,
              ),
            ),
        fact('timeout', formatMs(task.target.timeoutMs)),
        fact('retry', task.retry.maxAttempts > 1 ? `up to ${task.retry.maxAttempts} attempts` : 'no retry'),
        fact('overlap / misfire', `${task.overlap} / ${task.misfire.policy}`),
        task.calendars?.length
          ? fact('calendars', `not on the dates of ${task.calendars.join(', ')} (skipped: calendar)`)
          : null,
        fact(
          'labels',
          Object.entries(task.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '—',
        ),
        fact('revision', `${task.revision}, updated ${formatInstant(task.updatedAt)}`),
      ),
      task.description ? h('p', { class: 'muted' }, task.description) : null,
    );
  }

  async function renderExecutions() {
    let page = await get(`/tasks/${id}/executions?limit=20`);
    // A shard or broadcast task: each instant is many executions; show its latest instants whole.
    if (!page.items.some((e) => e.instantId)) {
      return table(
        ['nominal', 'status', 'lateness', 'duration', 'attempts', 'HTTP', 'scheduler', 'error'],
        page.items.map((e) => executionRow(e)),
        { empty: 'No executions recorded yet.' },
      );
    }
    page = await get(`/tasks/${id}/executions?limit=500`);
    return instantUnits(page.items, 5);
  }

  async function renderAlerts() {
    const [body, operator] = await Promise.all([get(`/alerts?taskId=${id}&state=open`), mayOperate()]);
    return alertTable(body.alerts, {
      act: operator ? alertActions.open : undefined,
      reload: () => view.refresh(),
      empty: 'No open alert.',
    });
  }

  async function renderAudit() {
    const page = await get(`/audit?taskId=${id}&limit=30`);
    return table(
      ['at', 'what', 'who', 'revision', 'detail'],
      page.items.map((a) =>
        h(
          'tr',
          {},
          h('td', {}, formatInstant(a.at)),
          h('td', {}, eventName(a.type).replace(/^task /, '')),
          h('td', { class: 'mono' }, a.actorId ?? '—'),
          h('td', {}, a.revision ?? '—'),
          h('td', { class: 'small' }, describeDetail(a.detail)),
        ),
      ),
      { empty: 'No audit events yet (they arrive through Kafka and history).' },
    );
  }

  async function renderLedger() {
    const to = Date.now();
    const body = await get(`/tasks/${id}/ledger?from=${iso(to - LEDGER_WINDOWS[ledgerKey])}&to=${iso(to)}`);
    const s = body.summary;
    const skipped = Object.values(s.skipped).reduce((sum, n) => sum + n, 0);
    const flagged = body.entries.filter((e) => e.flags.length > 0);
    // Flagged instants first (they are the point), then the latest ones.
    const latest = body.entries
      .filter((e) => e.flags.length === 0)
      .slice(-LEDGER_ROWS)
      .reverse();
    const count = (name, n, bad = false) =>
      h('span', { class: bad && n > 0 ? 'badge bad' : 'badge neutral', 'data-count': name }, `${name} ${n}`);
    return h(
      'div',
      {},
      h(
        'p',
        { class: 'summary ledger-summary' },
        count('due', s.due),
        count('fired', s.fired),
        count('succeeded', s.succeeded),
        count('failed', s.failed + s.timedOut, true),
        count('skipped', skipped),
        count('misfired', s.misfired, true),
        count('lost', s.lost, true),
        count('pending', s.pending),
        count('manual', s.manual),
        count('unaccounted', s.unaccounted, true),
        count('doubled', s.doubled, true),
        count('stale', s.stale, true),
        count('undue', s.undue, true),
      ),
      table(
        ['nominal', 'kind', 'outcome', 'reason', 'attempts', 'by (scheduler@token)', 'flags'],
        [...flagged.reverse(), ...latest].map((e) =>
          h(
            'tr',
            {
              class: e.flags.length > 0 ? 'failure' : '',
              'data-ledger-instant': e.nominalTime,
              'data-outcome': e.outcome,
            },
            h('td', { title: e.nominalTime }, formatInstant(e.nominalTime)),
            h(
              'td',
              {},
              e.kind === 'manual'
                ? 'manual'
                : e.due === 'transition'
                  ? 'scheduled (around a change)'
                  : e.kind,
            ),
            h('td', {}, statusBadge(e.outcome)),
            h('td', {}, e.reason ?? ''),
            h('td', {}, e.actions.filter((a) => a.kind === 'fired').length),
            h(
              'td',
              { class: 'mono' },
              [...new Set(e.actions.map((a) => `${a.schedulerId}@${a.fencingToken}`))].join(' '),
            ),
            h('td', { class: 'error-text' }, e.flags.join(' ')),
          ),
        ),
        { empty: 'Nothing was due and nothing ran in this window.' },
      ),
      body.entries.length > flagged.length + latest.length
        ? h(
            'p',
            { class: 'muted' },
            `Showing the flagged instants and the latest ${LEDGER_ROWS}; \`nono ledger\` lists them all.`,
          )
        : null,
    );
  }

  async function renderCharts() {
    const w = WINDOWS[windowKey];
    // Buckets aligned to their size, so a refresh moves whole buckets instead of shifting all.
    const end = Math.ceil(Date.now() / w.sizeMs) * w.sizeMs;
    const starts = Array.from({ length: w.buckets }, (_, i) => end - (w.buckets - i) * w.sizeMs);
    const reports = await Promise.all(
      starts.map((from) => get(`/reports/tasks/${id}?from=${iso(from)}&to=${iso(from + w.sizeMs)}`)),
    );
    const total = await get(`/reports/tasks/${id}?from=${iso(starts[0])}&to=${iso(end)}`);
    const buckets = reports.map((r, i) => ({
      label: bucketLabel(starts[i], w.sizeMs),
      runs: r.runs,
      successRate: r.successRate,
      p50: r.durationMs.p50,
      p95: r.durationMs.p95,
    }));
    return h(
      'div',
      {},
      h(
        'p',
        { class: 'summary' },
        `${w.label}: ${total.runs} runs, ${total.successRate === null ? '—' : `${Math.round(total.successRate * 1000) / 10} %`} succeeded, ${total.failed} failed, ${total.timedOut} timed out, ${total.lost} lost, ${total.skipped} skipped, ${total.missed} missed; duration p50 ${formatMs(total.durationMs.p50)}, p95 ${formatMs(total.durationMs.p95)}; lateness p50 ${formatMs(total.latenessMs.p50)}, p95 ${formatMs(total.latenessMs.p95)}, p99 ${formatMs(total.latenessMs.p99)}`,
      ),
      h(
        'div',
        { class: 'chart-pair' },
        h('figure', {}, h('figcaption', {}, 'Success rate'), successRateChart(buckets)),
        h(
          'figure',
          {},
          h('figcaption', {}, 'Duration'),
          durationChart(buckets),
          legend([
            ['line-p50', 'p50'],
            ['line-p95', 'p95'],
          ]),
        ),
      ),
    );
  }

  return view;
}

/** A section that fails alone: history down must not blank the task's definition. */
async function renderSection(container, render) {
  try {
    container.replaceChildren(await render());
  } catch (error) {
    container.replaceChildren(h('p', { class: 'error' }, `Unavailable: ${error.message}`));
  }
}

function fact(term, value, className = '') {
  return [h('dt', {}, term), h('dd', { class: className }, value)];
}

const iso = (ms) => new Date(ms).toISOString();

function bucketLabel(start, sizeMs) {
  const date = new Date(start);
  if (sizeMs >= 12 * 3_600_000)
    return date.toLocaleDateString(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      hour12: false,
    });
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
}

export function executionRow(e, { withTask = false } = {}) {
  const late = e.lateMs === null ? '—' : formatMs(e.lateMs);
  return h(
    'tr',
    {
      class: FAILED_EXECUTION_STATUSES.includes(e.status) ? 'failure' : '',
      'data-execution': e.executionId,
      'data-status': e.status,
    },
    withTask
      ? h('td', {}, h('a', { href: `#/tasks/${enc(e.taskId)}`, class: 'id-cut', title: e.taskId }, e.taskId))
      : null,
    // reason: why it ran (scheduled, manual, catch-up, rerun…); shown when not the ordinary case.
    h(
      'td',
      { title: e.executionId },
      h(
        'a',
        { href: `#/executions/${enc(e.executionId)}`, class: 'execution-link' },
        formatInstant(e.nominalTime),
      ),
      e.reason && e.reason !== 'scheduled' ? h('span', { class: 'muted' }, ` ${e.reason}`) : null,
      // A manual run's parameters: shown on the execution's page.
      e.parameters
        ? h('span', { class: 'muted', title: JSON.stringify(e.parameters) }, ' with parameters')
        : null,
    ),
    h('td', {}, statusBadge(e.status)),
    h('td', { class: e.lateMs > 5_000 ? 'warn' : '' }, late),
    h('td', {}, formatMs(e.durationMs)),
    h('td', {}, e.attempts ?? '—'),
    h('td', {}, e.httpStatus ?? '—'),
    h('td', { class: 'mono' }, e.schedulerId ?? '—'),
    h('td', { class: 'error-text' }, e.error ?? ''),
  );
}

/**
 * The latest `count` instants of a shard or broadcast task, each with its outcome and a row per
 * execution (its shard or member). `items` are history's rows, newest instant first.
 */
export function instantUnits(items, count) {
  const instants = new Map();
  for (const e of items) {
    const key = e.instantId ?? e.executionId;
    if (!instants.has(key)) {
      if (instants.size === count) break;
      instants.set(key, []);
    }
    instants.get(key).push(e);
  }
  return h(
    'div',
    { class: 'instant-units' },
    [...instants].map(([instantId, units]) => {
      units.sort(
        (a, b) =>
          (a.shardIndex ?? 0) - (b.shardIndex ?? 0) || (a.memberUrl ?? '').localeCompare(b.memberUrl ?? ''),
      );
      const outcome = instantOutcome(units.map((u) => u.status));
      const kind = units[0]?.shardCount != null ? `${units[0].shardCount} shards` : `${units.length} members`;
      const counts = Object.entries(outcome.byStatus)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ');
      return h(
        'div',
        { class: 'instant', 'data-instant': instantId, 'data-outcome': outcome.status },
        h(
          'h4',
          {},
          formatInstant(units[0]?.nominalTime),
          ' ',
          statusBadge(outcome.status),
          h('span', { class: 'muted' }, ` ${kind}: ${counts}`),
        ),
        table(
          ['shard', 'member', 'status', 'attempts', 'duration', 'HTTP', 'error'],
          units.map((u) =>
            h(
              'tr',
              {
                class: FAILED_EXECUTION_STATUSES.includes(u.status) ? 'failure' : '',
                'data-execution': u.executionId,
                'data-status': u.status,
              },
              h(
                'td',
                { title: u.executionId },
                u.shardIndex == null ? '—' : `${u.shardIndex}/${u.shardCount}`,
              ),
              h('td', { class: 'mono' }, u.memberUrl ?? '—'),
              h('td', {}, statusBadge(u.status)),
              h('td', {}, u.attempts ?? '—'),
              h('td', {}, formatMs(u.durationMs)),
              h('td', {}, u.httpStatus ?? '—'),
              h('td', { class: 'error-text' }, u.error ?? ''),
            ),
          ),
        ),
      );
    }),
  );
}

// The rule of instantOutcome in libs/domain/src/instant-units.ts (the UI has no build step to
// import it; its order of failures comes from there through /execution-statuses.js): succeeded
// when every unit did, running while one runs, else the gravest failure.
function instantOutcome(statuses) {
  const byStatus = {};
  for (const s of statuses) byStatus[s] = (byStatus[s] ?? 0) + 1;
  let status;
  if (statuses.length === 0) status = 'scheduled';
  else if (byStatus.succeeded === statuses.length) status = 'succeeded';
  else if (statuses.some((s) => s !== 'succeeded' && !INSTANT_FAILURE_ORDER.includes(s))) status = 'running';
  else status = INSTANT_FAILURE_ORDER.find((s) => byStatus[s] > 0) ?? 'running';
  return { status, byStatus };
}
