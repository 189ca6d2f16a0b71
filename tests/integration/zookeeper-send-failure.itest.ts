import { writeFileSync, mkdtempSync } from 'node:fs';
import { type Server, type Socket, createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess } from '../support/processes.js';

/**
 * Issue #12, hole 5: schedulers aborted (SIGABRT, nothing on stderr) when ZooKeeper went away
 * under load. The C client closes its socket inside a request whose send fails, behind the
 * binding's libuv poll watcher, and libuv aborts at the next poll (epoll_ctl: EBADF). Here a
 * client process has its connection reset (by a proxy in front of the real server) while its
 * loop is busy, then sends one request: it must survive and report its session expired.
 */
describe('a ZooKeeper request whose send fails', () => {
  let proxy: Server;
  let proxyPort = 0;
  const clientSides: Socket[] = [];

  beforeAll(async () => {
    const [host = '127.0.0.1', port = '2181'] = inject('zkConnect').split(',')[0]?.split(':') ?? [];
    proxy = createServer((client) => {
      const server = connect(Number(port), host);
      client.on('error', () => undefined);
      server.on('error', () => client.destroy());
      client.pipe(server).pipe(client);
      clientSides.push(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    proxyPort = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(async () => {
    for (const socket of clientSides) socket.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('leaves the process alive and the session reported expired', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'nono-zk-send-')), 'reset-done');
    const child = startProcess('zk-send-failure', 'tests/support/zk-send-failure-child.mjs', {
      ZK_CONNECT: `127.0.0.1:${proxyPort}`,
      MARKER: marker,
    });
    await child.waitForLine(/^reset$/);
    // An RST, not a FIN: the client's next send() fails at once (ECONNRESET).
    for (const socket of clientSides.splice(0)) socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    writeFileSync(marker, '');
    const code = await child.exited;
    expect(child.child.signalCode, `the client process died (log: ${child.logFile})`).toBeNull();
    expect(code).toBe(0);
    const report = JSON.parse(await child.waitForLine(/^\{/)) as { states: string[] };
    expect(report.states).toContain('expired');
    expect(report.states.some((state) => state.startsWith('request-failed:'))).toBe(true);
  });
});
