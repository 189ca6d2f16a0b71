// A deliberately small UI over the REST API: no framework, no build step. Everything
// shown comes from /api/v1 and is inserted as text, never as HTML.
const api = '/api/v1';
const $ = (id) => document.getElementById(id);
let cursor = null;

function token() {
  return sessionStorage.getItem('nono-token') ?? '';
}

function say(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

async function call(method, path, body) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token()}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const fields = (payload?.errors ?? []).map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new Error(
      `${payload?.code ?? response.status}: ${payload?.detail ?? ''}${fields ? ` (${fields})` : ''}`,
    );
  }
  return payload;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function describeSchedule(schedule) {
  if (schedule.kind === 'cron') return `${schedule.expression} (${schedule.timeZone})`;
  if (schedule.kind === 'interval') return `every ${schedule.everyMs} ms`;
  return `once at ${schedule.at}`;
}

function action(td, label, run) {
  const button = document.createElement('button');
  button.textContent = label;
  button.addEventListener('click', async (event) => {
    event.stopPropagation();
    try {
      say(await run());
      await loadTasks(true);
    } catch (error) {
      say(error.message, true);
    }
  });
  td.append(button, ' ');
}

async function loadTasks(reset) {
  if (reset) {
    cursor = null;
    $('tasks').replaceChildren();
  }
  const query = new URLSearchParams({ limit: '50' });
  if ($('label-filter').value) query.set('label', $('label-filter').value);
  if ($('paused-filter').value) query.set('paused', $('paused-filter').value);
  if (cursor) query.set('after', cursor);
  const page = await call('GET', `/tasks?${query}`);
  for (const { task, owner } of page.items) {
    const row = $('tasks').insertRow();
    cell(row, task.id);
    cell(row, task.name);
    cell(row, describeSchedule(task.schedule));
    cell(
      row,
      task.paused ? `paused${task.pausedNote ? `: ${task.pausedNote}` : ''}` : 'running',
      task.paused ? 'paused' : '',
    );
    cell(row, owner ?? '—');
    const actions = cell(row, '');
    const id = encodeURIComponent(task.id);
    if (task.paused)
      action(
        actions,
        'Resume',
        async () => (await call('POST', `/tasks/${id}/resume`), `${task.id} resumed`),
      );
    else
      action(
        actions,
        'Pause',
        async () => (await call('POST', `/tasks/${id}/pause`, {}), `${task.id} paused`),
      );
    action(
      actions,
      'Run now',
      async () =>
        `${task.id} triggered: execution ${(await call('POST', `/tasks/${id}/trigger`, {})).executionId}`,
    );
    row.addEventListener('click', () => void showPreview(task.id, row));
  }
  cursor = page.nextCursor;
  $('more').hidden = cursor === null;
}

async function showPreview(taskId, row) {
  document.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
  row.classList.add('selected');
  try {
    const preview = await call('GET', `/tasks/${encodeURIComponent(taskId)}/preview?count=10`);
    $('preview-title').textContent = `${taskId}, in ${preview.timeZone}`;
    $('preview').replaceChildren(
      ...preview.fireTimes.map((fire) =>
        Object.assign(document.createElement('li'), { textContent: `${fire.local}  (${fire.utc})` }),
      ),
    );
  } catch (error) {
    say(error.message, true);
  }
}

async function loadSchedulers() {
  const cluster = await call('GET', '/schedulers');
  $('schedulers').replaceChildren(
    ...cluster.schedulers.map((s) =>
      Object.assign(document.createElement('li'), {
        textContent: `${s.id} on ${s.host ?? '?'} (v${s.version ?? '?'}): ${s.tasks.length} tasks`,
      }),
    ),
  );
}

async function refresh() {
  try {
    await Promise.all([loadTasks(true), loadSchedulers()]);
    say('');
  } catch (error) {
    say(error.message, true);
  }
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('nono-token', $('token').value);
  $('token').value = '';
  void refresh();
});
$('filter-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void loadTasks(true).catch((error) => say(error.message, true));
});
$('more').addEventListener('click', () => void loadTasks(false).catch((error) => say(error.message, true)));
if (token()) void refresh();
else say('Enter a token to start.');
