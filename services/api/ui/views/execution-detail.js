import { enc, get } from '../api.js';
import { formatInstant, formatMs, h, show, statusBadge, table } from '../dom.js';

/**
 * One execution: what it was (task, nominal instant, why it ran and with which trigger
 * parameters), how it ended, and each attempt with the member it went to, what the task
 * captured of the worker's answer, and the cancel URL's answer when it was cancelled.
 */
export function executionDetailView(executionId) {
  const body = h('div', { id: 'execution-detail' });
  const view = {
    autoRefresh: true,
    element: h('section', {}, h('h2', {}, 'Execution ', h('span', { class: 'mono' }, executionId)), body),
    async refresh() {
      const e = await get(`/executions/${enc(executionId)}`);
      show(
        body,
        h(
          'dl',
          { class: 'facts' },
          fact('task', h('a', { href: `#/tasks/${enc(e.taskId)}` }, e.taskId)),
          fact('status', statusBadge(e.status)),
          fact('nominal', formatInstant(e.nominalTime)),
          fact('reason', e.reason),
          fact('fired', e.firedAt ? formatInstant(e.firedAt) : '—'),
          fact('finished', e.finishedAt ? formatInstant(e.finishedAt) : '—'),
          fact('attempts', e.attempts ?? '—'),
          fact('scheduler', `${e.schedulerId}@${e.fencingToken}`),
          e.error ? fact('error', e.error) : null,
        ),
        e.parameters
          ? [
              h('h3', {}, 'Trigger parameters'),
              h('pre', { class: 'output', id: 'parameters' }, JSON.stringify(e.parameters, null, 2)),
            ]
          : null,
        h('h3', {}, 'Attempts'),
        table(
          ['attempt', 'status', 'started', 'duration', 'HTTP', 'member', 'error'],
          e.attemptHistory.map((a) =>
            h(
              'tr',
              { 'data-attempt': a.attempt },
              h('td', {}, a.attempt),
              h('td', {}, statusBadge(a.status)),
              h('td', {}, a.startedAt ? formatInstant(a.startedAt) : '—'),
              h('td', {}, formatMs(a.durationMs)),
              h('td', {}, a.httpStatus ?? '—'),
              h('td', { class: 'mono' }, a.member ? `${a.member.group}: ${a.member.url}` : '—'),
              h('td', { class: 'error-text' }, a.error ?? ''),
            ),
          ),
          { empty: 'No attempt was made.' },
        ),
        e.attemptHistory.filter((a) => a.output || a.cancelCall).map(attemptDetail),
      );
    },
  };
  return view;
}

function attemptDetail(a) {
  return h(
    'div',
    { class: 'attempt-output', 'data-attempt': a.attempt },
    h('h3', {}, `Attempt ${a.attempt}`),
    a.output ? outputOf(a.output) : null,
    a.cancelCall ? cancelCallOf(a.cancelCall) : null,
  );
}

function outputOf(output) {
  const headers = Object.entries(output.headers);
  const kept = output.encoding === 'base64' ? 'base64 of the bytes (not UTF-8)' : 'UTF-8 text';
  return [
    headers.length === 0
      ? null
      : h(
          'dl',
          { class: 'facts output-headers' },
          headers.flatMap(([name, value]) => fact(name, value)),
        ),
    h(
      'p',
      { class: 'muted output-note' },
      `Response body: ${output.bytes} bytes, ${kept}`,
      output.truncated ? ' — truncated: only the first bytes were kept' : '',
    ),
    h('pre', { class: 'output', 'data-encoding': output.encoding }, output.body),
  ];
}

function cancelCallOf(call) {
  const outcome =
    call.error !== undefined
      ? `failed: ${call.error}`
      : `answered ${call.httpStatus} in ${formatMs(call.durationMs)}`;
  return h('p', { class: 'cancel-call' }, `Cancel URL ${call.url}: ${outcome}`);
}

function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}
