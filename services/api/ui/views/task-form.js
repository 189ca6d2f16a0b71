import { ApiProblem, call, enc } from '../api.js';
import { $, formatInstant, h } from '../dom.js';
import { say, sayError } from '../notify.js';

const PREVIEW_DEBOUNCE_MS = 300;
/** Fields the API manages; a full replace (PUT) must not send them back. */
const MANAGED = ['id', 'createdAt', 'updatedAt', 'revision'];

/**
 * Create (`taskId` undefined) or edit a task. Editing is a full replace (PUT) built from the
 * stored task with the form's fields on top, so fields the form does not show (headers,
 * success contract, bounds) survive, and it sends `If-Match` with the ETag it loaded: a
 * change made meanwhile by someone else is refused (412), not overwritten.
 */
export function taskFormView(taskId) {
  const editing = taskId !== undefined;
  let stored;
  let etag;
  const field = (name, labelText, input, hint) =>
    h(
      'label',
      { class: 'field', 'data-field': name },
      h('span', { class: 'label' }, labelText),
      input,
      hint ? h('small', {}, hint) : null,
      h('span', { class: 'field-error', 'data-error-for': name }),
    );
  const input = (name, attrs = {}) => h('input', { name, id: `f-${name.replace(/\./g, '-')}`, ...attrs });
  const select = (name, options) =>
    h(
      'select',
      { name, id: `f-${name.replace(/\./g, '-')}` },
      options.map((o) => h('option', { value: o }, o)),
    );

  const form = h(
    'form',
    { class: 'task-form', novalidate: true, autocomplete: 'off' },
    h(
      'fieldset',
      {},
      h('legend', {}, 'Task'),
      field(
        'id',
        'Id',
        input('id', { placeholder: 'nightly-report', disabled: editing }),
        'lowercase letters, digits, . _ -',
      ),
      field('name', 'Name', input('name', { placeholder: 'Nightly report' })),
      field(
        'description',
        'Description',
        h('textarea', { name: 'description', id: 'f-description', rows: 2 }),
      ),
      field(
        'labels',
        'Labels',
        input('labels', { placeholder: 'team=billing, env=prod' }),
        'key=value, comma separated',
      ),
      field('paused', 'Paused', input('paused', { type: 'checkbox' })),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Schedule'),
      field('schedule.kind', 'Kind', select('schedule.kind', ['cron', 'interval', 'once'])),
      field(
        'schedule.expression',
        'Cron expression',
        input('schedule.expression', { placeholder: '*/5 * * * *', class: 'mono' }),
        '5 fields, or 6 with seconds first',
      ),
      field(
        'schedule.timeZone',
        'Time zone',
        input('schedule.timeZone', { placeholder: 'UTC' }),
        'IANA name, e.g. Europe/Paris',
      ),
      field(
        'schedule.everyMs',
        'Every (ms)',
        input('schedule.everyMs', { type: 'number', min: 100, step: 100 }),
      ),
      field(
        'schedule.at',
        'At',
        input('schedule.at', { placeholder: '2026-12-01T09:00:00Z' }),
        'RFC 3339 instant with an offset',
      ),
      h(
        'div',
        { class: 'preview', 'aria-live': 'polite' },
        h('strong', {}, 'Next fires'),
        h('ol', { id: 'cron-preview' }),
        h('ul', { id: 'dst-effects', class: 'muted' }),
        h('p', { id: 'schedule-diff', class: 'muted' }),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Target and policies'),
      field('target.method', 'Method', select('target.method', ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'])),
      field('target.kind', 'Calls', select('target.kind', ['a URL', 'a worker group'])),
      field(
        'target.url',
        'URL',
        input('target.url', { placeholder: 'http://127.0.0.1:7500/jobs/ok', class: 'mono' }),
      ),
      field('target.group', 'Group', input('target.group', { placeholder: 'renderers', class: 'mono' })),
      field(
        'target.route',
        'Route',
        select('target.route', ['round-robin', 'random', 'consistent-hash', 'least-in-flight', 'failover']),
      ),
      field(
        'target.path',
        'Path',
        input('target.path', { placeholder: '/jobs/ok', class: 'mono' }),
        "appended to each member's URL; empty: the member URL itself",
      ),
      field('target.timeoutMs', 'Timeout (ms)', input('target.timeoutMs', { type: 'number', min: 100 })),
      field(
        'target.body',
        'Body',
        h('textarea', { name: 'target.body', id: 'f-target-body', rows: 2, class: 'mono' }),
        'sent as is; empty: nono sends its own JSON',
      ),
      field(
        'retry.maxAttempts',
        'Max attempts',
        input('retry.maxAttempts', { type: 'number', min: 1 }),
        '1 means no retry',
      ),
      field(
        'overlap',
        'Overlap',
        select('overlap', ['skip', 'buffer-one', 'buffer-all', 'cancel-running', 'allow']),
      ),
      field('misfire.policy', 'Misfire', select('misfire.policy', ['fire-once', 'fire-all', 'skip'])),
    ),
    h('ul', { class: 'form-errors', id: 'form-errors' }),
    h(
      'div',
      { class: 'form-actions' },
      h(
        'button',
        { type: 'submit', class: 'primary', id: 'save-task' },
        editing ? 'Save changes' : 'Create task',
      ),
      h('a', { class: 'button', href: editing ? `#/tasks/${enc(taskId)}` : '#/tasks' }, 'Cancel'),
    ),
  );
  const named = (name) => form.elements.namedItem(name);
  const value = (name) => named(name).value.trim();

  function fill(task) {
    named('id').value = task.id ?? '';
    named('name').value = task.name ?? '';
    named('description').value = task.description ?? '';
    named('labels').value = Object.entries(task.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    named('paused').checked = task.paused ?? false;
    const schedule = task.schedule ?? { kind: 'cron', expression: '*/5 * * * *', timeZone: 'UTC' };
    named('schedule.kind').value = schedule.kind;
    named('schedule.expression').value = schedule.expression ?? '';
    named('schedule.timeZone').value =
      schedule.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
    named('schedule.everyMs').value = schedule.everyMs ?? 60000;
    named('schedule.at').value = schedule.at ?? '';
    named('target.method').value = task.target?.method ?? 'POST';
    named('target.kind').value = task.target?.group === undefined ? 'a URL' : 'a worker group';
    named('target.url').value = task.target?.url ?? '';
    named('target.group').value = task.target?.group ?? '';
    named('target.route').value = task.target?.route ?? 'round-robin';
    named('target.path').value = task.target?.path ?? '';
    named('target.timeoutMs').value = task.target?.timeoutMs ?? 30000;
    named('target.body').value = task.target?.body ?? '';
    named('retry.maxAttempts').value = task.retry?.maxAttempts ?? 1;
    named('overlap').value = task.overlap ?? 'skip';
    named('misfire.policy').value = task.misfire?.policy ?? 'fire-once';
    showKind();
    showTargetKind();
  }

  function schedule() {
    const kind = value('schedule.kind');
    if (kind === 'cron')
      return {
        kind,
        expression: value('schedule.expression'),
        timeZone: value('schedule.timeZone') || 'UTC',
      };
    if (kind === 'interval') return { kind, everyMs: numberOf('schedule.everyMs') };
    return { kind, at: value('schedule.at') };
  }

  /** A number field as a number; text that is not one goes as is, so the API names the field. */
  function numberOf(name) {
    const raw = value(name);
    return raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }

  function labels() {
    const out = {};
    for (const pair of value('labels')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at < 0) out[pair] = '';
      else out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return out;
  }

  function body() {
    const base = stored
      ? Object.fromEntries(Object.entries(stored).filter(([k]) => !MANAGED.includes(k)))
      : {};
    const targetBody = named('target.body').value;
    // A target is a URL or a group: the other kind's fields are dropped, not sent along.
    const { url: _url, group: _group, route: _route, path: _path, ...shared } = base.target ?? {};
    const path = value('target.path');
    const target = {
      ...shared,
      method: value('target.method'),
      ...(value('target.kind') === 'a worker group'
        ? { group: value('target.group'), route: value('target.route'), ...(path === '' ? {} : { path }) }
        : { url: value('target.url') }),
      timeoutMs: numberOf('target.timeoutMs'),
    };
    if (targetBody === '') delete target.body;
    else target.body = targetBody;
    return {
      ...base,
      ...(editing ? {} : { id: value('id') }),
      name: value('name'),
      description: named('description').value,
      labels: labels(),
      paused: named('paused').checked,
      schedule: schedule(),
      target,
      retry: { ...(base.retry ?? {}), maxAttempts: numberOf('retry.maxAttempts') },
      overlap: value('overlap'),
      misfire: { ...(base.misfire ?? {}), policy: value('misfire.policy') },
    };
  }

  function showKind() {
    const kind = value('schedule.kind');
    for (const [name, kinds] of [
      ['schedule.expression', ['cron']],
      ['schedule.timeZone', ['cron']],
      ['schedule.everyMs', ['interval']],
      ['schedule.at', ['once']],
    ])
      form.querySelector(`[data-field="${name}"]`).hidden = !kinds.includes(kind);
  }

  function showTargetKind() {
    const group = value('target.kind') === 'a worker group';
    form.querySelector('[data-field="target.url"]').hidden = group;
    for (const name of ['target.group', 'target.route', 'target.path'])
      form.querySelector(`[data-field="${name}"]`).hidden = !group;
  }

  function clearErrors(prefix = '') {
    for (const slot of form.querySelectorAll('[data-error-for]'))
      if (slot.dataset.errorFor.startsWith(prefix)) {
        slot.textContent = '';
        slot.closest('.field')?.classList.remove('invalid');
      }
    if (prefix === '') $('#form-errors', form).replaceChildren();
  }

  /**
   * Puts each problem+json issue under its field: the exact field, else the nearest enclosing
   * one shown (`target.headers.x` → none → the list under the form), so nothing is dropped.
   */
  function showErrors(errors, fallback) {
    const unplaced = [];
    for (const issue of errors) {
      let path = issue.field ?? '';
      let slot;
      while (path !== '' && !(slot = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`)))
        path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
      if (slot && !slot.closest('.field').hidden) {
        slot.textContent = slot.textContent ? `${slot.textContent}; ${issue.message}` : issue.message;
        slot.closest('.field').classList.add('invalid');
      } else unplaced.push(`${issue.field || 'task'}: ${issue.message}`);
    }
    if (errors.length === 0 && fallback) unplaced.push(fallback);
    $('#form-errors', form).replaceChildren(...unplaced.map((text) => h('li', {}, text)));
  }

  let previewTimer;
  let previewSeq = 0;
  async function preview() {
    const seq = ++previewSeq;
    const list = $('#cron-preview', form);
    try {
      // H takes its values from the task id: preview with the id the task has or will have.
      const id = editing ? taskId : value('id');
      const body = { schedule: schedule(), count: 5, ...(id ? { taskId: id } : {}) };
      const { body: result } = await call('POST', '/preview', { body });
      if (seq !== previewSeq) return;
      clearErrors('schedule');
      $('#dst-effects', form).replaceChildren(
        ...result.dstEffects.map((effect) => h('li', {}, effect.message)),
      );
      list.replaceChildren(
        ...(result.fireTimes.length === 0
          ? [h('li', { class: 'muted' }, 'never fires again')]
          : result.fireTimes.map((f) =>
              h(
                'li',
                { title: f.utc },
                `${f.local.replace('T', ' ').replace(/\.000/, '')}  (${formatInstant(f.utc)} here)`,
              ),
            )),
      );
      if (editing) await showScheduleDiff(seq);
    } catch (error) {
      if (seq !== previewSeq) return;
      $('#schedule-diff', form).textContent = '';
      list.replaceChildren(h('li', { class: 'muted' }, 'fix the schedule to see its fire times'));
      $('#dst-effects', form).replaceChildren();
      if (error instanceof ApiProblem) {
        clearErrors('schedule');
        showErrors(
          error.errors
            .map((e) => (e.field === 'taskId' ? { ...e, field: 'id' } : e))
            .filter((e) => e.field.startsWith('schedule') || e.field === 'id'),
        );
      } else sayError(error);
    }
  }
  /**
   * Before a schedule change is saved: the instants of the next 7 days it adds and removes. A
   * form with another field wrong shows none (saving names that field).
   */
  async function showScheduleDiff(seq) {
    const line = $('#schedule-diff', form);
    try {
      const { body: diff } = await call('POST', `/tasks/${enc(taskId)}/schedule-diff?days=7&count=3`, {
        body: body(),
      });
      if (seq !== previewSeq) return;
      const first = (changes) =>
        changes.first[0] === undefined
          ? ''
          : ` (first ${changes.first[0].local.replace('T', ' ').replace(/\.000/, '')})`;
      line.textContent =
        diff.added.count === 0 && diff.removed.count === 0
          ? 'This change keeps every instant of the next 7 days.'
          : `Next 7 days${diff.complete ? '' : ` (compared up to ${formatInstant(diff.checkedUntil)}: too many instants)`}: ${diff.added.count} instants added${first(diff.added)}, ${diff.removed.count} removed${first(diff.removed)}.`;
    } catch {
      if (seq === previewSeq) line.textContent = '';
    }
  }

  const schedulePreviewSoon = () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => void preview(), PREVIEW_DEBOUNCE_MS);
  };
  form.addEventListener('input', (event) => {
    if (event.target.name?.startsWith('schedule.') || event.target.name === 'id') {
      if (event.target.name === 'schedule.kind') showKind();
      schedulePreviewSoon();
    }
  });
  form.addEventListener('change', (event) => {
    if (event.target.name === 'target.kind') showTargetKind();
    if (event.target.name === 'schedule.kind') {
      showKind();
      schedulePreviewSoon();
    }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const button = $('#save-task', form);
    button.disabled = true;
    try {
      if (editing) {
        await call('PUT', `/tasks/${enc(taskId)}`, {
          body: body(),
          headers: etag ? { 'if-match': etag } : {},
        });
        say(`${taskId} saved`);
        location.hash = `#/tasks/${enc(taskId)}`;
      } else {
        const id = value('id');
        await call('POST', '/tasks', { body: body() });
        say(`${id} created`);
        location.hash = `#/tasks/${enc(id)}`;
      }
    } catch (error) {
      if (error instanceof ApiProblem) {
        const hint =
          error.status === 412
            ? 'Someone changed this task since you opened it: reload the page to see their version.'
            : error.message;
        showErrors(error.errors, hint);
        say(error.errors.length > 0 ? 'Fix the marked fields.' : hint, true);
      } else sayError(error);
    } finally {
      button.disabled = false;
    }
  });

  return {
    autoRefresh: false,
    element: h('section', {}, h('h2', {}, editing ? `Edit ${taskId}` : 'New task'), form),
    async refresh() {
      if (editing) {
        const loaded = await call('GET', `/tasks/${enc(taskId)}`);
        stored = loaded.body;
        etag = loaded.etag;
        fill(stored);
      } else fill({});
      await preview();
    },
    dispose() {
      clearTimeout(previewTimer);
    },
  };
}
