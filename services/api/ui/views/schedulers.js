import { enc, get } from '../api.js';
import { describeDetail, eventName, formatInstant, formatRelative, h, show, table } from '../dom.js';

/** Live schedulers with the tasks each owns (from ZooKeeper) and the membership history (from history). */
export function schedulersView() {
  const live = h('div');
  const historyList = h('div');
  return {
    autoRefresh: true,
    element: h(
      'section',
      {},
      h('h2', {}, 'Schedulers'),
      live,
      h('h3', {}, 'Membership history'),
      historyList,
    ),
    async refresh() {
      const cluster = await get('/schedulers');
      show(
        live,
        h(
          'p',
          { class: 'muted' },
          cluster.generation === null
            ? 'No assignment written yet (no leader so far).'
            : `Assignment generation ${cluster.generation}, written ${formatInstant(cluster.updatedAt)}.`,
        ),
        table(
          ['scheduler', 'host', 'pid', 'version', 'up since', 'owned tasks'],
          cluster.schedulers.map((m) =>
            h(
              'tr',
              { 'data-scheduler': m.id },
              h('td', { class: 'mono' }, m.id),
              h('td', {}, m.host ?? '?'),
              h('td', {}, m.pid ?? '?'),
              h('td', {}, m.version ?? '?'),
              h(
                'td',
                {},
                m.startedAt ? `${formatInstant(m.startedAt)} (${formatRelative(m.startedAt)})` : '?',
              ),
              h(
                'td',
                {},
                m.tasks.length === 0
                  ? h('span', { class: 'muted' }, 'none')
                  : h(
                      'span',
                      { class: 'task-chips' },
                      `${m.tasks.length}: `,
                      m.tasks.flatMap((t, i) => [
                        i > 0 ? ', ' : '',
                        h('a', { href: `#/tasks/${enc(t)}` }, t),
                      ]),
                    ),
              ),
            ),
          ),
          { empty: 'No scheduler is running: nothing fires.' },
        ),
        cluster.departed.length > 0
          ? h(
              'p',
              { class: 'warn' },
              `Gone but still named in the assignment (the leader has not caught up yet): ${cluster.departed.join(', ')}`,
            )
          : null,
      );
      try {
        const page = await get('/schedulers/history?limit=50');
        historyList.replaceChildren(
          table(
            ['at', 'scheduler', 'event', 'detail'],
            page.items.map((e) =>
              h(
                'tr',
                {},
                h('td', {}, formatInstant(e.at)),
                h('td', { class: 'mono' }, e.schedulerId),
                h('td', {}, eventName(e.type)),
                h('td', { class: 'small' }, describeDetail(e.detail)),
              ),
            ),
            { empty: 'No membership events recorded yet.' },
          ),
        );
      } catch (error) {
        historyList.replaceChildren(h('p', { class: 'error' }, `Unavailable: ${error.message}`));
      }
    },
  };
}
