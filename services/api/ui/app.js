// nono's web UI: plain ES modules, no framework, no build step. A hash router shows one
// view at a time; the current view and the backend banner refresh themselves every few
// seconds. It uses only /api/v1, so it can do nothing its token could not do with curl.
import { ApiUnreachable, get, setToken, token, whoAmI } from './api.js';
import { $ } from './dom.js';
import { say, sayError, showBackends } from './notify.js';
import { alertsView } from './views/alerts.js';
import { auditView } from './views/audit.js';
import { executionDetailView } from './views/execution-detail.js';
import { executionsView } from './views/executions.js';
import { groupsView } from './views/groups.js';
import { overviewView } from './views/overview.js';
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
  [/^#\/overview$/, () => overviewView(), 'overview'],
  [/^#\/executions\/([^/?]+)$/, (m) => executionDetailView(decodeURIComponent(m[1])), 'executions'],
  [/^#\/executions(?:\?.*)?$/, () => executionsView(), 'executions'],
  [/^#\/schedulers$/, () => schedulersView(), 'schedulers'],
  [/^#\/groups$/, () => groupsView(), 'groups'],
  [/^#\/tokens$/, () => tokensView(), 'tokens'],
  [/^#\/alerts$/, () => alertsView(), 'alerts'],
  [/^#\/audit(?:\?.*)?$/, () => auditView(), 'audit'],
  [/^(?:#\/tasks)?$|^#?\/?$/, () => tasksView(), 'tasks'],
];

let current;
let timer;

/**
 * Shows who the token is (and takes the token box out of the header), or the box alone when
 * there is no token or the API refused it. Views render after it, knowing the role.
 */
async function signIn() {
  const showSession = (role) => {
    $('#token-form').hidden = role !== undefined;
    $('#session').hidden = role === undefined;
    $('#session-role').textContent = role ?? '';
  };
  if (!token()) return showSession(undefined);
  try {
    showSession((await whoAmI()).role);
  } catch (error) {
    showSession(undefined);
    if (error.status === 401) setToken('');
    throw error;
  }
}

async function route() {
  current?.dispose?.();
  try {
    await signIn();
  } catch (error) {
    current = undefined;
    $('#view').replaceChildren();
    if (error instanceof ApiUnreachable) sayError(error);
    else say(`${error.message}: check the token`, true);
    return;
  }
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
  if (view === undefined) return;
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
$('#sign-out').addEventListener('click', () => {
  setToken('');
  void route();
});
window.addEventListener('hashchange', () => void route());
window.addEventListener('nono:navigate', () => void route());
void route();
schedule();
