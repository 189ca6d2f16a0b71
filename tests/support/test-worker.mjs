// A worker process for end-to-end tests: records every call it gets and answers as the
// URL says. /ok/<task> → 200, /fail/<task> → 500, /slow/<task>?ms=N → 200 after N ms,
// /flaky/<task>?every=N → 500 on every Nth call, /answer/<task>?status=S&text=T&repeat=N → S with
// T repeated N times as the body (binary=1: bytes that are not UTF-8) and an x-report-id header.
// GET /calls returns the record
// (RECORD=0 turns recording off, for benchmarks at thousands of calls a second).
// GET /lateness?from=<ms>&to=<ms> summarises arrival minus nominal instant of the first attempts
// whose nominal instant is in [from, to) (&raw=1: every value, to merge several workers'): lateness where users see it (kept even with RECORD=0,
// as two numbers per call). CALL_LOG=<file> also appends each call to that file as a JSON line
// when it arrives and again when it is answered (`answeredStatus`), so the calls of a worker that
// was SIGKILLed mid-call can still be read. GET /healthz answers 200, or the status set by
// PUT /healthz?status=N; GET /probes counts the /healthz requests it got. EXTRA_PORTS=N serves
// the same on N more ports (N distinct group members in one process, for benchmarks).
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const calls = [];
const arrivals = { nominal: [], late: [] };
const counters = new Map();
const health = { status: 200, probes: 0 };
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://worker');
  if (url.pathname === '/healthz' || url.pathname === '/probes') {
    if (req.method === 'PUT') health.status = Number(url.searchParams.get('status') ?? 200);
    else if (url.pathname === '/healthz') health.probes += 1;
    res.writeHead(url.pathname === '/healthz' && req.method === 'GET' ? health.status : 200, {
      'content-type': 'application/json',
    });
    res.end(JSON.stringify(health));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/lateness') {
    const from = Number(url.searchParams.get('from') ?? -Infinity);
    const to = Number(url.searchParams.get('to') ?? Infinity);
    const late = arrivals.late.filter((_, i) => arrivals.nominal[i] >= from && arrivals.nominal[i] < to);
    late.sort((a, b) => a - b);
    if (url.searchParams.get('raw') === '1') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(late));
      return;
    }
    const at = (p) => late[Math.min(late.length - 1, Math.floor(p * late.length))] ?? null;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count: late.length, p50: at(0.5), p99: at(0.99), max: late.at(-1) ?? null }));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/calls') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(calls));
    return;
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  const receivedAt = Date.now();
  const nominal = Date.parse(String(req.headers['nono-nominal-time']));
  if (req.headers['nono-attempt'] === '1' && !Number.isNaN(nominal)) {
    arrivals.nominal.push(nominal);
    arrivals.late.push(receivedAt - nominal);
  }
  req.on('end', () => {
    const [, mode, taskId] = url.pathname.split('/');
    const call = {
      mode,
      taskId,
      executionId: req.headers['idempotency-key'],
      token: Number(req.headers['nono-fencing-token']),
      attempt: Number(req.headers['nono-attempt']),
      nominal: req.headers['nono-nominal-time'],
      traceparent: req.headers.traceparent,
      shard: req.headers['nono-shard'],
      body,
      receivedAt: Date.now(),
    };
    if (process.env.RECORD !== '0') calls.push(call);
    if (process.env.CALL_LOG) appendFileSync(process.env.CALL_LOG, `${JSON.stringify(call)}\n`);
    const answer = (status) => {
      call.answeredStatus = status;
      if (process.env.CALL_LOG) appendFileSync(process.env.CALL_LOG, `${JSON.stringify(call)}\n`);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: status < 300 ? 'ok' : 'failed' }));
    };
    const count = (counters.get(taskId) ?? 0) + 1;
    counters.set(taskId, count);
    if (mode === 'answer') {
      const status = Number(url.searchParams.get('status') ?? 200);
      call.answeredStatus = status;
      const repeat = Number(url.searchParams.get('repeat') ?? 1);
      const payload =
        url.searchParams.get('binary') === '1'
          ? Buffer.alloc(repeat, Buffer.from([0xff, 0xfe, 0x00, 0x80]))
          : Buffer.from((url.searchParams.get('text') ?? '').repeat(repeat), 'utf8');
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'x-report-id': `report-${taskId}`,
      });
      res.end(payload);
    } else if (mode === 'fail') answer(500);
    else if (mode === 'slow') setTimeout(() => answer(200), Number(url.searchParams.get('ms') ?? 1000));
    else if (mode === 'flaky') answer(count % Number(url.searchParams.get('every') ?? 2) === 0 ? 500 : 200);
    else answer(200);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  // More ports served by the same handler, printed before `listening` (so a reader of that line has them all).
  const extra = Array.from({ length: Number(process.env.EXTRA_PORTS ?? 0) }, () => {
    const also = createServer(server.listeners('request')[0]);
    also.keepAliveTimeout = 60_000;
    return new Promise((resolve) => also.listen(0, '127.0.0.1', () => resolve(also.address().port)));
  });
  void Promise.all(extra).then((ports) => {
    for (const port of ports) process.stdout.write(`also ${port}\n`);
    process.stdout.write(`listening ${server.address().port}\n`);
  });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
