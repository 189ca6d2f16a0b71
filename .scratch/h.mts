import { nextTaskFireTimes, parseSchedule, TimeZone, describeDstEffects } from '../libs/domain/src/index.ts';
const show = (id: string, expression: string, timeZone = 'UTC', after = '2026-06-01T00:00:00Z', n = 3) => {
  const p = parseSchedule({ kind: 'cron', expression, timeZone });
  if (!p.ok) { console.log(expression, JSON.stringify(p.issues)); return; }
  const list = nextTaskFireTimes({ id, schedule: p.value }, Date.parse(after), n);
  console.log(id, expression, timeZone, list.map((t) => new Date(t).toISOString()).join(' '));
};
for (const id of ['nightly-report', 'billing-sync', 'cache-warmup']) { show(id, '0 H * * *'); show(id, 'H H * * *'); show(id, 'H(0-29) 3 * * *'); show(id, 'H/15 * * * *', 'UTC', '2026-06-01T00:00:00Z', 4); }
show('x', '0 9 15W * *', 'Europe/Paris', '2026-08-01T00:00:00Z', 2);
show('x', '0 9 LW * *', 'America/New_York', '2026-05-01T00:00:00Z', 2);
show('x', '0 9 * * 1#2', 'Australia/Lord_Howe', '2026-06-01T00:00:00Z', 2);
show('x', '0 18 * * 5L', 'Europe/Paris', '2026-06-01T00:00:00Z', 2);
show('x', '0 0 */2 * 1', 'UTC', '2026-06-01T00:00:00Z', 3);
show('x', '0 0 1,15 * 1', 'UTC', '2026-06-01T00:00:00Z', 4);
show('x', '30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2);
show('x', '30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2);
show('x', '*/30 * * * *', 'America/New_York', '2026-11-01T04:45:00Z', 6);
show('x', '30 2 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', 2);
show('x', '45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', 2);
show('x', '*/15 * * * *', 'Australia/Lord_Howe', '2026-04-04T14:20:00Z', 6);
show('x', '15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', 2);
show('x', '*/15 * * * *', 'Australia/Lord_Howe', '2026-10-03T15:10:00Z', 4);
show('x', '*/15 * * * *', 'Europe/Paris', '2026-03-29T00:40:00Z', 4);
for (const [e, z, a] of [['45 1 * * *','Australia/Lord_Howe','2026-03-01T00:00:00Z'],['*/15 * * * *','Australia/Lord_Howe','2026-03-01T00:00:00Z'],['*/15 * * * *','America/New_York','2026-01-01T00:00:00Z'],['30 2 * * *','America/New_York','2026-01-01T00:00:00Z']] as const) {
  const p = parseSchedule({ kind: 'cron', expression: e, timeZone: z }); if (!p.ok) continue;
  console.log(e, z, describeDstEffects(p.value, 'x', Date.parse(a), Date.parse(a) + 366*86400000).map((d) => d.message));
}
