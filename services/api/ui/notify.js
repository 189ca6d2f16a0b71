// What the page tells the person: the status line under the header and the banner that
// names every backend (ZooKeeper, Kafka, history, or the API itself) that does not answer.
import { ApiUnreachable } from './api.js';
import { $, h } from './dom.js';

export function say(text, isError = false) {
  $('#status').textContent = text;
  $('#status').className = isError ? 'error' : text ? 'ok' : '';
}

/** Reports a failed action or refresh; the API being down is the banner's business. */
export function sayError(error) {
  if (error instanceof ApiUnreachable) showBackends({ api: false });
  say(error.message, true);
}

const CONSEQUENCE = {
  zookeeper: 'task definitions cannot be read or changed, and schedulers cannot coordinate',
  kafka: 'fires and audit events are held back until it returns',
  history: 'executions, reports and the audit trail cannot be shown',
};

export function showBackends(status) {
  const banner = $('#backends');
  const problems = [];
  if (status.api === false)
    problems.push(
      h('li', {}, h('strong', {}, 'nono API unreachable'), ': this page shows what it last saw.'),
    );
  else
    for (const name of ['zookeeper', 'kafka', 'history']) {
      const state = status[name];
      if (state && !state.reachable)
        problems.push(
          h(
            'li',
            { 'data-backend': name },
            h('strong', {}, `${label(name)} unreachable`),
            ` (${state.detail}): ${CONSEQUENCE[name]}.`,
          ),
        );
    }
  banner.hidden = problems.length === 0;
  banner.replaceChildren(...(problems.length ? [h('ul', {}, problems)] : []));
  const healthy =
    status.api !== false ? ['zookeeper', 'kafka', 'history'].filter((n) => status[n]?.reachable) : [];
  banner.dataset.healthy = healthy.join(' ');
}

const label = (name) =>
  ({ zookeeper: 'ZooKeeper', kafka: 'Kafka', history: 'History service' })[name] ?? name;
