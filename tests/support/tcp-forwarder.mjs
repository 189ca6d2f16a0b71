// A plain TCP forwarder for the fault tests' network namespace: each word of NONO_FORWARDS,
// `<listen host>:<port>=<target host>:<port>`, accepts connections on the first address and pipes
// each to a new connection to the second, both ways, until either side closes. It neither drops
// nor delays bytes: a partition is made by the kernel (a veth taken down), not here.
import { connect, createServer } from 'node:net';

const pairs = (process.env['NONO_FORWARDS'] ?? '')
  .split(/\s+/)
  .filter(Boolean)
  .map((arg) => {
    const match = /^([\d.]+):(\d+)=([\d.]+):(\d+)$/.exec(arg);
    if (match === null) throw new Error(`expected <host>:<port>=<host>:<port>, got ${arg}`);
    return { host: match[1], port: Number(match[2]), targetHost: match[3], targetPort: Number(match[4]) };
  });

let listening = 0;
for (const pair of pairs) {
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: pair.targetHost, port: pair.targetPort, noDelay: true });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  server.listen(pair.port, pair.host, () => {
    listening += 1;
    if (listening === pairs.length) process.stdout.write(`forwarding ${pairs.length} addresses\n`);
  });
}

// A test runner killed mid-run must not leave forwarders on a shared machine.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1_000).unref();
