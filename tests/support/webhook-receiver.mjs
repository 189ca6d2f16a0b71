// A webhook receiver for the alerts tests: records every request (path, idempotency key,
// Standard Webhooks headers, JSON body) and answers 200, or 500 while failing. GET /requests
// returns the record; POST /fail?ms=N answers 500 to everything for the next N ms.
import { createServer } from 'node:http';

const requests = [];
let failUntil = Number(process.env.FAIL_FOR_MS ?? 0) > 0 ? Date.now() + Number(process.env.FAIL_FOR_MS) : 0;
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://receiver');
  if (req.method === 'GET' && url.pathname === '/requests') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(requests));
    return;
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    if (req.method === 'POST' && url.pathname === '/fail') {
      failUntil = Date.now() + Number(url.searchParams.get('ms') ?? 0);
      res.writeHead(204);
      res.end();
      return;
    }
    const failing = Date.now() < failUntil;
    let json;
    try {
      json = JSON.parse(body);
    } catch {
      json = body;
    }
    requests.push({
      path: url.pathname,
      key: req.headers['idempotency-key'],
      webhookId: req.headers['webhook-id'],
      signature: req.headers['webhook-signature'],
      timestamp: req.headers['webhook-timestamp'],
      body: json,
      raw: body,
      answered: failing ? 500 : 200,
      at: Date.now(),
    });
    res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
