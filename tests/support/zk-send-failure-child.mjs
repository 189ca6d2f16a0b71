// A ZooKeeper client (the built @nono/coordination) whose connection is reset while its event
// loop is busy, so that its next request is the first to meet the reset: the C client's send
// fails and it closes the socket itself. Prints "reset" when the parent should reset the
// connection, waits (synchronously) for the file MARKER, sends one request, and prints the
// session states it saw as JSON. Issue #12, hole 5: this used to end in SIGABRT.
import { existsSync, writeSync } from 'node:fs';
import { ZkClient } from '@nono/coordination';

const zk = await ZkClient.connect({ connect: process.env.ZK_CONNECT ?? '', sessionTimeoutMs: 10_000 });
const states = [];
zk.on('state', (state) => states.push(state));
await zk.exists('/');
// After the poll phase that delivered the reply: the binding has re-armed its poll watcher,
// and the loop registers it with epoll at the next poll, after this callback.
setImmediate(() => {
  writeSync(1, 'reset\n');
  const deadline = Date.now() + 10_000;
  while (!existsSync(process.env.MARKER ?? '') && Date.now() < deadline);
  zk.exists('/').then(
    () => states.push('request-succeeded'),
    (error) => states.push(`request-failed:${error.codeName ?? error.message}`),
  );
  setTimeout(() => {
    writeSync(1, `${JSON.stringify({ states, state: zk.state })}\n`);
    zk.close();
  }, 500);
});
