// nono's web UI: plain ES modules, no framework, no build step. A hash router shows one
// view at a time; the current view and the backend banner refresh themselves every few
// seconds. It uses only /api/v1, so it can do nothing its token could not do with curl.
import { ApiUnreachable, get, setToken, token } from './api.js';
import { $ } from './dom.js';
import { say, sayError, showBackends } from './notify.js';
import { alertsView } from './views/alerts.js';
import { executionsView } from './views/executions.js';
import { schedulersView } from './views/schedulers.js';
import { taskDetailView } from './views/task-detail.js';
import { taskFormView } from './views/task-form.js';
import { tasksView } from './views/tasks.js';
import { tokensView } from './views/tokens.js';

const REFRESH_MS = 5_000;

const ROUTES = [
  [/^#\/tasks\/new$/, () => taskFormView(undefined), 'tasks'],
  [/^#\/tasks\/([^/]+)\/edit$/, (m) => taskFormView(decodeURIComponent(m[1])), 'tasks'],
  [/^#\/tasks\/([^/]+)$/, (m) => taskDetailView(decodeURIComponent(m[1])), 'tasks'],
  [/^#\/executions(?:\?.*)?$/, () => executionsView(), 'executions'],
  [/^#\/schedulers$/, () => schedulersView(), 'schedulers'],
  [/^#\/tokens$/, () => tokensView(), 'tokens'],
  [/^#\/alerts$/, () => alertsView(), 'alerts'],
  [/^(?:#\/tasks)?$|^#?\/?$/, () => tasksView(), 'tasks'],
];

let current;
let timer;

async function route() {
  current?.dispose?.();
  const hash = location.hash || '#/tasks';
  const [pattern, make, nav] = ROUTES.find(([pattern]) => pattern.test(hash)) ?? ROUTES.at(-1);
  for (const link of document.querySelectorAll('[data-nav]'))
    link.classList.toggle('active', link.dataset.nav === nav);
  say('');
  const view = make(hash.match(pattern) ?? []);
  current = view;
  $('#view').replaceChildren(view.element);
  await refresh(true);
}

async function refresh(first = false) {
  const view = current;
  if (!token()) {
    say('Enter a token to start (npm start prints the local admin token).');
    return;
  }
  await Promise.all([
    refreshBackends(),
    (async () => {
      if (!first && !view.autoRefresh) return;
      try {
        await view.refresh();
        $('#refreshed').textContent =
          `updated ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
      } catch (error) {
        if (view === current) sayError(error);
      }
    })(),
  ]);
}

async function refreshBackends() {
  try {
    const status = await get('/status');
    showBackends({ api: true, ...status });
  } catch (error) {
    if (error instanceof ApiUnreachable) showBackends({ api: false });
    else if (error.status === 401 || error.status === 403) say(`${error.message}: check the token`, true);
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, REFRESH_MS);
}

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setToken($('#token').value.trim());
  $('#token').value = '';
  void route();
});
window.addEventListener('hashchange', () => void route());
window.addEventListener('nono:navigate', () => void route());
void route();
schedule();
