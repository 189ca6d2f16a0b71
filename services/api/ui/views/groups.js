import { enc, get } from '../api.js';
import { formatInstant, formatRelative, h, show, table } from '../dom.js';

/**
 * Worker groups, each with its members: static ones as defined, dynamic ones with their lease
 * (live or lapsed, when it runs out), and what the schedulers' passive health says (out: taken
 * out after failed calls, by which scheduler, until when, why). Read-only: groups are defined
 * with `nono groups apply` or the API, and workers register themselves.
 */
export function groupsView() {
  const list = h('div');
  return {
    autoRefresh: true,
    element: h(
      'section',
      {},
      h('h2', {}, 'Worker groups'),
      h(
        'p',
        { class: 'muted' },
        'A task whose target is { group, route } calls one member of its group per attempt. Define groups with `nono groups apply -f <file>`; workers join by registering (PUT /api/v1/worker-groups/<name>/members/<id>) and leave when their lease lapses.',
      ),
      list,
    ),
    async refresh() {
      const { items } = await get('/worker-groups');
      const sections = await Promise.all(
        items.map(async ({ group, liveMembers }) => {
          // Each member's results over the last 24 hours, from history (absent when history is down).
          const since = new Date(Date.now() - 86_400_000).toISOString();
          const [{ members }, results] = await Promise.all([
            get(`/worker-groups/${enc(group.name)}/members`),
            get(`/reports/groups/${enc(group.name)}?from=${enc(since)}`).catch(() => undefined),
          ]);
          const resultOf = (url) => results?.members.find((r) => r.url === url);
          return h(
            'article',
            { 'data-group': group.name },
            h('h3', {}, group.name, ' ', h('span', { class: 'muted small' }, `${liveMembers} live`)),
            group.description ? h('p', {}, group.description) : null,
            h(
              'p',
              { class: 'muted small' },
              `Lease ${group.leaseMs / 1000} s; a member is taken out after ${group.passiveHealth.consecutiveFailures} failed calls in a row, for ${group.passiveHealth.backoffMs / 1000} s.`,
              group.activeHealth
                ? ` Probes: GET ${group.activeHealth.path} every ${group.activeHealth.intervalMs / 1000} s; out after ${group.activeHealth.unhealthyAfter} failed, back after ${group.activeHealth.healthyAfter} passed.`
                : ' No health probes.',
            ),
            table(
              ['member', 'source', 'state', 'health', 'lease', 'taken out by', 'last 24 h'],
              members.map((m) =>
                h(
                  'tr',
                  {
                    'data-member': m.url,
                    class: m.health === 'out' || m.state === 'lapsed' ? 'warn' : undefined,
                  },
                  h(
                    'td',
                    { class: 'mono' },
                    m.url,
                    m.memberId ? h('span', { class: 'muted' }, ` (${m.memberId})`) : null,
                  ),
                  h('td', {}, m.source),
                  h('td', {}, m.state),
                  h('td', { class: m.health === 'out' ? 'error' : undefined }, m.health),
                  h(
                    'td',
                    { class: 'small' },
                    m.expiresAt
                      ? `${m.state === 'lapsed' ? 'ran out' : 'runs out'} ${formatInstant(m.expiresAt)} (${formatRelative(m.expiresAt)}); last heartbeat ${formatRelative(m.renewedAt)}`
                      : '-',
                  ),
                  h(
                    'td',
                    { class: 'small' },
                    m.takenOutBy.length === 0
                      ? '-'
                      : m.takenOutBy
                          .map((t) =>
                            t.cause === 'probe'
                              ? `${t.schedulerId}: ${t.failures} failed probes (${t.lastError}); out until a probe passes`
                              : `${t.schedulerId} until ${formatInstant(t.until)}: ${t.failures} failures (${t.lastError})`,
                          )
                          .join('; '),
                  ),
                  h('td', { class: 'small member-results' }, describeResults(resultOf(m.url), results)),
                ),
              ),
              { empty: 'No member: list static members in the definition, or let workers register.' },
            ),
          );
        }),
      );
      show(list, items.length === 0 ? h('p', { class: 'muted' }, 'No worker groups yet.') : sections);
    },
  };
}

/** A member's recent results in words: counts by outcome, success rate, the last attempt. */
function describeResults(result, report) {
  if (report === undefined) return 'history unavailable';
  if (result === undefined) return 'no attempts';
  const parts = [`${result.attempts} attempts: ${result.succeeded} ok`];
  if (result.failed > 0) parts.push(`${result.failed} failed`);
  if (result.timedOut > 0) parts.push(`${result.timedOut} timed out`);
  if (result.cancelled > 0) parts.push(`${result.cancelled} cancelled`);
  if (result.inProgress > 0) parts.push(`${result.inProgress} running`);
  const rate = result.successRate === null ? '' : ` (${Math.round(result.successRate * 100)} %)`;
  const last = result.lastStartedAt
    ? `; last ${result.lastStatus} ${formatRelative(result.lastStartedAt)}`
    : '';
  return `${parts.join(', ')}${rate}${last}`;
}
