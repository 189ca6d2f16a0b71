import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type RunningProcess, startProcess } from './processes.js';

const run = promisify(execFile);
const ip = async (...args: string[]): Promise<void> => void (await run('ip', args));

/**
 * A network namespace for one process of a fault test, so that the kernel can cut it off from
 * ZooKeeper alone. Two veth pairs join it to the test's namespace: one carries the ZooKeeper
 * traffic (10.231.0.0/30), the other everything else (10.231.1.0/30).
 *
 * ZooKeeper, Kafka and the worker listen on 127.0.0.1 of the test's namespace, which no other
 * namespace reaches, so a plain TCP forwarder (tests/support/tcp-forwarder.mjs, it only moves
 * bytes) listens on the veths' outer addresses and passes each connection on to 127.0.0.1.
 * The process inside reaches ZooKeeper at 10.231.0.1:<port> (`zkConnect` rewrites a connect
 * string), straight over the veth. Kafka's brokers advertise 127.0.0.1:<port>, which a client
 * must reach by that name, so a second forwarder inside maps the namespace's own
 * 127.0.0.1:<port> to 10.231.1.1:<port> for the Kafka and worker ports.
 *
 * The partition is the ZooKeeper veth taken down (`ip link set … down`): from then on the
 * kernel drops the packets between the process and ZooKeeper, nothing is closed or refused by
 * anyone, as with a cut cable or a dead switch port; its Kafka and worker traffic goes on.
 * Needs root (CAP_NET_ADMIN) and `ip`.
 */
export interface IsolatedNamespace {
  readonly name: string;
  /** Put before node to run a process inside (`ip netns exec <name>`). */
  readonly launcher: readonly string[];
  /** The namespace's address the test reaches a server inside at (its ops port). */
  readonly host: string;
  /** `connect` (127.0.0.1:<port>,…[/chroot]) as the process inside reaches it: over the ZooKeeper veth. */
  zkConnect(connect: string): string;
  /** Takes the ZooKeeper veth down: packets between the namespace and ZooKeeper are dropped from now on. */
  partitionFromZooKeeper(): Promise<void>;
  /** Brings the ZooKeeper veth up again. */
  heal(): Promise<void>;
  close(): Promise<void>;
}

const ZK_NET = { outside: '10.231.0.1', inside: '10.231.0.2' };
const OTHER_NET = { outside: '10.231.1.1', inside: '10.231.1.2' };

export async function isolatedNamespace(ports: {
  readonly zooKeeper: readonly number[];
  readonly other: readonly number[];
}): Promise<IsolatedNamespace> {
  const id = String(process.pid);
  const name = `nono-faults-${id}`;
  const zkVeth = `nfz${id}`;
  const otherVeth = `nfo${id}`;
  const forwarders: RunningProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(forwarders.map((forwarder) => forwarder.kill('SIGKILL')));
    await ip('link', 'del', `${zkVeth}h`).catch(() => undefined);
    await ip('link', 'del', `${otherVeth}h`).catch(() => undefined);
    await ip('netns', 'del', name).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    for (const [veth, net] of [
      [zkVeth, ZK_NET],
      [otherVeth, OTHER_NET],
    ] as const) {
      await ip('link', 'add', `${veth}h`, 'type', 'veth', 'peer', 'name', `${veth}n`);
      await ip('link', 'set', `${veth}n`, 'netns', name);
      await ip('addr', 'add', `${net.outside}/30`, 'dev', `${veth}h`);
      await ip('-n', name, 'addr', 'add', `${net.inside}/30`, 'dev', `${veth}n`);
      await ip('link', 'set', `${veth}h`, 'up');
      await ip('-n', name, 'link', 'set', `${veth}n`, 'up');
    }
    const forwards = (from: (net: typeof ZK_NET) => string, to: (net: typeof ZK_NET) => string): string =>
      [
        ...ports.zooKeeper.map((port) => `${from(ZK_NET)}:${port}=${to(ZK_NET)}:${port}`),
        ...ports.other.map((port) => `${from(OTHER_NET)}:${port}=${to(OTHER_NET)}:${port}`),
      ].join(' ');
    // Outside: the veths' outer addresses to the servers' loopback listeners.
    forwarders.push(
      startProcess('netns-forwarder-outside', 'tests/support/tcp-forwarder.mjs', {
        NONO_FORWARDS: forwards(
          (net) => net.outside,
          () => '127.0.0.1',
        ),
      }),
    );
    // Inside, for Kafka's advertised listeners and the worker: the namespace's own loopback to
    // the other veth's outer address.
    forwarders.push(
      startProcess(
        'netns-forwarder-inside',
        'tests/support/tcp-forwarder.mjs',
        {
          NONO_FORWARDS: ports.other
            .map((port) => `127.0.0.1:${port}=${OTHER_NET.outside}:${port}`)
            .join(' '),
        },
        [],
        undefined,
        ['ip', 'netns', 'exec', name],
      ),
    );
    await Promise.all(forwarders.map((forwarder) => forwarder.waitForLine(/^forwarding/, 20_000)));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    name,
    launcher: ['ip', 'netns', 'exec', name],
    host: OTHER_NET.inside,
    zkConnect: (connect) => connect.replaceAll('127.0.0.1:', `${ZK_NET.outside}:`),
    partitionFromZooKeeper: () => ip('link', 'set', `${zkVeth}h`, 'down'),
    heal: () => ip('link', 'set', `${zkVeth}h`, 'up'),
    close,
  };
}
