import { call, can, enc, get } from '../api.js';
import { formatInstant, h, show, table } from '../dom.js';
import { say, sayError } from '../notify.js';

/**
 * A task's backfills (re-fires of its past instants under their original execution ids): a
 * form to plan one (dry run) or start it, for operators, and the list with each one's progress
 * and a Cancel button while it runs. The form is built once; only the list is refreshed, so a
 * refresh never wipes what someone is typing.
 */
export function backfillSection(taskId, reload) {
  const id = enc(taskId);
  const list = h('div', { id: 'backfill-list' });
  const plan = h('div', { id: 'backfill-plan' });
  const hourAgo = new Date(Date.now() - 3_600_000);
  const input = (name, value) =>
    h('input', { name, id: `backfill-${name}`, value, placeholder: 'RFC 3339, UTC', size: 26 });
  const from = input('from', hourAgo.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const to = input('to', new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const force = h('input', { type: 'checkbox', id: 'backfill-force' });
  const rate = h('input', { type: 'number', id: 'backfill-rate', value: 10, min: 0.1, step: 'any', size: 5 });

  const body = (dryRun) => ({
    from: from.value.trim(),
    to: to.value.trim(),
    ratePerSecond: Number(rate.value),
    ...(force.checked ? { force: true } : {}),
    ...(dryRun ? { dryRun: true } : {}),
  });
  const submit = async (dryRun) => {
    try {
      const answer = (await call('POST', `/tasks/${id}/backfills`, { body: body(dryRun) })).body;
      if (dryRun) {
        const shown = answer.fires.slice(0, 10);
        show(
          plan,
          h(
            'p',
            { id: 'backfill-plan-summary' },
            `${answer.fires.length} of ${answer.instants} instants would fire (${answer.alreadySucceeded} succeeded already).`,
          ),
          shown.length === 0
            ? null
            : h(
                'ul',
                { class: 'muted' },
                shown.map((f) => h('li', { title: f.executionId }, formatInstant(f.nominalTime))),
                answer.fires.length > shown.length
                  ? h('li', {}, `… ${answer.fires.length - shown.length} more`)
                  : null,
              ),
        );
      } else {
        show(plan);
        say(`backfill of ${answer.total} instants started`);
        await reload();
      }
    } catch (error) {
      show(plan);
      sayError(error);
    }
  };

  // Built once, shown to operators only (the role may be learnt after the view is built).
  const form = h(
    'form',
    { id: 'backfill-form', class: 'inline-form', onsubmit: (event) => event.preventDefault() },
    h('label', {}, 'from ', from),
    h('label', {}, ' to ', to),
    h('label', {}, ' ', force, ' also those that succeeded'),
    h('label', {}, ' rate/s ', rate),
    ' ',
    h('button', { type: 'button', id: 'backfill-dry-run', onclick: () => void submit(true) }, 'Dry run'),
    ' ',
    h(
      'button',
      { type: 'button', id: 'backfill-start', onclick: () => void submit(false) },
      'Start backfill',
    ),
  );

  async function renderList() {
    form.hidden = !can('operator');
    const { items } = await get(`/tasks/${id}/backfills`);
    return table(
      ['requested', 'window', 'state', 'progress', 'ok / failed / lost', ''],
      items.map((b) => {
        const done = b.succeeded + b.failed + b.lost;
        return h(
          'tr',
          { class: 'backfill-row', 'data-backfill': b.backfillId, 'data-state': b.state },
          h('td', { title: b.requestedBy.id }, formatInstant(b.requestedAt)),
          h('td', {}, `${formatInstant(b.from)} – ${formatInstant(b.to)}${b.force ? ' (forced)' : ''}`),
          h('td', { class: 'backfill-state' }, b.state),
          h(
            'td',
            {},
            h('progress', { max: Math.max(1, b.total), value: done }),
            ` ${done}/${b.total}`,
            b.running > 0 ? ` (${b.running} running)` : '',
          ),
          h(
            'td',
            {
              title:
                b.lost > 0
                  ? 'lost: in flight on a scheduler that died; backfill the window again to fire them'
                  : '',
            },
            `${b.succeeded} / ${b.failed} / ${b.lost}`,
            b.notStarted > 0 && b.state !== 'running' ? `, ${b.notStarted} not started` : '',
          ),
          h(
            'td',
            {},
            b.state === 'running' && can('operator')
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'backfill-cancel',
                    onclick: async () => {
                      try {
                        await call('POST', `/tasks/${id}/backfills/${enc(b.backfillId)}/cancel`, {
                          body: {},
                        });
                        say('backfill cancelled: nothing more is claimed; calls already made finish');
                        await reload();
                      } catch (error) {
                        sayError(error);
                      }
                    },
                  },
                  'Cancel',
                )
              : null,
          ),
        );
      }),
      { empty: 'No backfills.' },
    );
  }

  return { element: h('div', { id: 'backfills' }, form, plan, list), list, renderList };
}
