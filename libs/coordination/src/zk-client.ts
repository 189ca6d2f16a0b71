import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

/**
 * A small, typed, promise-based face over the `zookeeper` package (the official C
 * client). It owns exactly one ZooKeeper session: when that session expires the client
 * is dead and says so ('expired'); whoever owns it creates a new one. That is on purpose:
 * ephemeral nodes and watches belong to a session, so pretending a new session is the
 * old one is how schedulers end up firing tasks they no longer own.
 */

// The package is CommonJS with a native addon; load it once, here.
const require = createRequire(import.meta.url);
const NativeZooKeeper = require('zookeeper') as NativeZooKeeperConstructor;

interface NativeStat {
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly ephemeralOwner: string | number;
  readonly dataLength: number;
  readonly numChildren: number;
}
type WatchCallback = (type: number, state: number, path: string) => void;
/**
 * The C binding's request methods, shared by the wrapper and its inner native handle. Each
 * returns the C client's return code: anything but 0 means the request was not queued and its
 * callback will never be called.
 */
interface NativeOperations {
  /** `zoo_state` of the handle (0 once closed). */
  readonly state: number;
  a_create(
    path: string,
    data: Buffer | string | null,
    flags: number,
    cb: (rc: number, error: string, path: string) => void,
  ): number;
  a_exists(path: string, watch: boolean, cb: (rc: number, error: string, stat: NativeStat) => void): number;
  aw_exists(
    path: string,
    watch: WatchCallback,
    cb: (rc: number, error: string, stat: NativeStat) => void,
  ): number;
  a_get(
    path: string,
    watch: boolean,
    cb: (rc: number, error: string, stat: NativeStat, data: Buffer | null) => void,
  ): number;
  aw_get(
    path: string,
    watch: WatchCallback,
    cb: (rc: number, error: string, stat: NativeStat, data: Buffer | null) => void,
  ): number;
  a_get_children(
    path: string,
    watch: boolean,
    cb: (rc: number, error: string, children: string[]) => void,
  ): number;
  aw_get_children(
    path: string,
    watch: WatchCallback,
    cb: (rc: number, error: string, children: string[]) => void,
  ): number;
  a_set(
    path: string,
    data: Buffer | string | null,
    version: number,
    cb: (rc: number, error: string, stat: NativeStat) => void,
  ): number;
  a_delete_(path: string, version: number, cb: (rc: number, error: string) => void): number;
  a_get_acl(
    path: string,
    cb: (rc: number, error: string, acl: readonly NativeAcl[] | null, stat: NativeStat) => void,
  ): number;
  /** Takes `perm` (the wrapper renames `perms`; we call below it). */
  a_set_acl(
    path: string,
    version: number,
    acl: readonly { perm: number; scheme: string; auth: string }[],
    cb: (rc: number, error: string) => void,
  ): number;
  add_auth(scheme: string, auth: string, cb: (rc: number, error: string) => void): number;
}
interface NativeAcl {
  readonly perms: number;
  readonly scheme: string;
  readonly auth: string;
}
interface NativeZooKeeper extends EventEmitter, NativeOperations {
  init(config: object): NativeZooKeeper;
  close(): void;
  readonly client_id?: string;
  /** The binding object the wrapper forwards to. */
  readonly native: NativeOperations;
}
interface NativeZooKeeperConstructor {
  new (config: object): NativeZooKeeper;
  readonly constants: Record<string, number>;
}

const C = NativeZooKeeper.constants;
/**
 * The C client's `ZOO_NOTCONNECTED_STATE` (`NOTCONNECTED_STATE_DEF` in zk_adaptor.h; the
 * binding does not export it): a handle whose socket the C client closed itself.
 */
const ZOO_NOTCONNECTED_STATE = 999;
/**
 * How many poll wake-ups in a row may read only part of a response before the binding gives up
 * on the connection. The binding counts each such read as "no response" and, past its default
 * of 10, closes the session as expired: the list of 30,000 task ids (a few MiB) takes more
 * reads than that even on loopback, so a large cluster's schedulers lost their session on every
 * read of /tasks (tests/integration/zookeeper-large-children.itest.ts). A read that makes no
 * progress at all is not counted here (a closed connection is an error the C client handles),
 * so the limit only bounds a socket readable for ever without a complete answer.
 */
const RESPONSE_COUNTER_LIMIT = 100_000;
const CODE_NAMES = new Map<number, string>(
  Object.entries(C)
    .filter(([name]) => /^Z[A-Z]+$/.test(name) && name !== 'ZOK')
    .map(([name, value]) => [value, name]),
);

export interface Stat {
  readonly version: number;
  readonly cversion: number;
  /** The zxid of the last change: globally monotonic across the whole ensemble. */
  readonly mzxid: number;
  readonly czxid: number;
  readonly ctime: number;
  readonly mtime: number;
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
}

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

export type SessionState = 'connecting' | 'connected' | 'suspended' | 'expired' | 'closed';

export type WatchEvent = {
  readonly type: 'created' | 'deleted' | 'changed' | 'children' | 'session';
  readonly path: string;
};

export class ZkError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly op: string;
  readonly path: string;

  constructor(op: string, path: string, code: number, detail: string) {
    const codeName = CODE_NAMES.get(code) ?? `Z${code}`;
    super(`zookeeper ${op} ${path}: ${codeName} (${detail})`);
    this.name = 'ZkError';
    this.code = code;
    this.codeName = codeName;
    this.op = op;
    this.path = path;
  }

  get isNoNode(): boolean {
    return this.code === C.ZNONODE;
  }
  get isNodeExists(): boolean {
    return this.code === C.ZNODEEXISTS;
  }
  get isBadVersion(): boolean {
    return this.code === C.ZBADVERSION;
  }
  get isNotEmpty(): boolean {
    return this.code === C.ZNOTEMPTY;
  }
  /** The outcome of the request is unknown (the connection dropped) or the session is gone. */
  get isConnectionProblem(): boolean {
    return [C.ZCONNECTIONLOSS, C.ZOPERATIONTIMEOUT, C.ZSESSIONEXPIRED, C.ZCLOSING, C.ZINVALIDSTATE].includes(
      this.code,
    );
  }
}

export const isZkError = (error: unknown): error is ZkError => error instanceof ZkError;

export interface ZkClientOptions {
  /** host:port[,host:port][/chroot] */
  readonly connect: string;
  readonly sessionTimeoutMs: number;
  /** How long `connect` waits for the first session before giving up. */
  readonly connectTimeoutMs?: number;
  /**
   * `user:password` of a ZooKeeper digest identity. The session authenticates with it, and
   * every node this client creates is then given an ACL that grants everything to that
   * identity and nothing to anyone else (see `create`).
   */
  readonly auth?: string | undefined;
}

const MODE_FLAGS: Record<CreateMode, number> = {
  persistent: 0,
  ephemeral: C.ZOO_EPHEMERAL ?? 1,
  'persistent-sequential': C.ZOO_SEQUENCE ?? 2,
  'ephemeral-sequential': (C.ZOO_EPHEMERAL ?? 1) | (C.ZOO_SEQUENCE ?? 2),
};

export class ZkClient extends EventEmitter<{ state: [SessionState] }> {
  readonly #client: NativeZooKeeper;
  /**
   * Requests go straight to the binding: the package's JS wrapper formats its arguments
   * with util.inspect for a debug log on every call, even with logging off, which cost
   * more CPU than the requests themselves at a few thousand fires a second.
   */
  readonly #native: NativeOperations;
  /** The ACL of every node this client creates; undefined without credentials (open nodes). */
  readonly #acl: readonly { perm: number; scheme: string; auth: string }[] | undefined;
  #state: SessionState = 'connecting';

  private constructor(native: NativeZooKeeper, auth: string | undefined) {
    super();
    this.#client = native;
    this.#native = native.native;
    this.#acl =
      auth === undefined
        ? undefined
        : [{ perm: C.ZOO_PERM_ALL ?? 31, scheme: 'digest', auth: digestId(auth) }];
    native.on('connect', () => this.#setState('connected'));
    native.on('connecting', () => {
      if (this.#state === 'connected') this.#setState('suspended');
    });
    native.on('close', () => {
      if (this.#state !== 'closed') this.#setState('expired');
    });
  }

  /** Opens a session and resolves once it is connected. */
  static connect(options: ZkClientOptions): Promise<ZkClient> {
    const native = new NativeZooKeeper({
      connect: options.connect,
      timeout: options.sessionTimeoutMs,
      debug_level: C.ZOO_LOG_LEVEL_ERROR ?? 1,
      // Servers in random order: the clients of a cluster spread over the ensemble, and each
      // reconnects to the next server of its own shuffled list when one goes away.
      host_order_deterministic: false,
      data_as_buffer: true,
      response_counter_limit: RESPONSE_COUNTER_LIMIT,
    });
    const client = new ZkClient(native, options.auth);
    const connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(
          new Error(`could not connect to ZooKeeper at ${options.connect} within ${connectTimeoutMs} ms`),
        );
      }, connectTimeoutMs);
      client.once('state', (state) => {
        if (state !== 'connected') {
          clearTimeout(timer);
          reject(new Error(`ZooKeeper session ${state} before it connected (${options.connect})`));
          return;
        }
        const { auth } = options;
        if (auth === undefined) {
          clearTimeout(timer);
          resolve(client);
          return;
        }
        // The C client re-sends the credentials itself after a reconnect.
        native.native.add_auth('digest', auth, (rc) => {
          clearTimeout(timer);
          if (rc === 0) resolve(client);
          else {
            client.close();
            // Never the credentials themselves in a message.
            reject(new Error(`ZooKeeper refused the NONO_ZK_AUTH credentials (${CODE_NAMES.get(rc) ?? rc})`));
          }
        });
      });
      native.init({});
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  get sessionId(): string {
    return String(this.#client.client_id ?? '');
  }

  #setState(state: SessionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  /**
   * Creates a node. With credentials, the node is then closed to everyone but their
   * identity: the binding cannot pass an ACL to create, so a set-ACL request follows it.
   * For a plain path it is sent right behind the create, without waiting, and ZooKeeper
   * applies one session's requests in order; a sequential node's name is known only after
   * the create, so there the ACL costs a round trip. Another client can reach a new node
   * only in that gap, and never its parent's other children, which the parent's ACL guards.
   */
  create(path: string, data: Buffer | string | null, mode: CreateMode = 'persistent'): Promise<string> {
    const created = new Promise<string>((resolve, reject) => {
      this.#send('create', path, reject, () =>
        this.#native.a_create(path, data, MODE_FLAGS[mode], (rc, error, name) => {
          if (rc === 0) resolve(name);
          else reject(new ZkError('create', path, rc, error));
        }),
      );
    });
    if (this.#acl === undefined) return created;
    if (mode === 'persistent-sequential' || mode === 'ephemeral-sequential')
      return created.then(async (name) => {
        await this.setAcl(name);
        return name;
      });
    const locked = this.setAcl(path);
    return created.then(
      async (name) => {
        await locked;
        return name;
      },
      async (error: unknown) => {
        // The create failed (the node exists, the parent does not): the ACL request's outcome says nothing more.
        await locked.catch(() => undefined);
        throw error;
      },
    );
  }

  /** Gives `path` this client's ACL (its credentials' identity only); a no-op without credentials. */
  setAcl(path: string): Promise<void> {
    const acl = this.#acl;
    if (acl === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#send('setAcl', path, reject, () =>
        this.#native.a_set_acl(path, -1, acl, (rc, error) => {
          if (rc === 0) resolve();
          else reject(new ZkError('setAcl', path, rc, error));
        }),
      );
    });
  }

  /** Whether `path` already carries exactly this client's ACL. */
  async hasOwnAcl(path: string): Promise<boolean> {
    const acl = this.#acl;
    if (acl === undefined) return false;
    const current = await new Promise<readonly NativeAcl[]>((resolve, reject) => {
      this.#send('getAcl', path, reject, () =>
        this.#native.a_get_acl(path, (rc, error, entries) => {
          if (rc === 0) resolve(entries ?? []);
          else reject(new ZkError('getAcl', path, rc, error));
        }),
      );
    });
    return (
      current.length === acl.length &&
      current.every((entry, index) => {
        const own = acl[index];
        return (
          own !== undefined &&
          entry.scheme === own.scheme &&
          entry.auth === own.auth &&
          entry.perms === own.perm
        );
      })
    );
  }

  /**
   * Closes a whole subtree to everyone but this client's identity, once: the nodes written
   * before credentials were configured are open. Children before parents, so a subtree
   * whose root is closed was closed completely, and a later start skips the walk.
   */
  async closeTree(root: string): Promise<{ closed: number }> {
    if (this.#acl === undefined || (await this.hasOwnAcl(root))) return { closed: 0 };
    let closed = 0;
    const walk = async (path: string): Promise<void> => {
      const children = await this.#childrenIfAny(path);
      if (children === undefined) return;
      for (const child of children) await walk(`${path === '/' ? '' : path}/${child}`);
      try {
        await this.setAcl(path);
        closed++;
      } catch (error) {
        if (!(isZkError(error) && error.isNoNode)) throw error;
      }
    };
    await walk(root);
    return { closed };
  }

  /** Creates every missing node on the way to `path` (persistent, empty). */
  async ensurePath(path: string): Promise<void> {
    let current = '';
    for (const segment of path.split('/').filter((s) => s !== '')) {
      current += `/${segment}`;
      try {
        await this.create(current, null);
      } catch (error) {
        if (!(isZkError(error) && error.isNodeExists)) throw error;
      }
    }
  }

  exists(path: string, watch?: (event: WatchEvent) => void): Promise<Stat | undefined> {
    return new Promise((resolve, reject) => {
      const cb = (rc: number, error: string, stat: NativeStat): void => {
        if (rc === 0) resolve(toStat(stat));
        else if (rc === C.ZNONODE) resolve(undefined);
        else reject(new ZkError('exists', path, rc, error));
      };
      this.#send('exists', path, reject, () =>
        watch === undefined
          ? this.#native.a_exists(path, false, cb)
          : this.#native.aw_exists(path, toWatcher(watch), cb),
      );
    });
  }

  get(path: string, watch?: (event: WatchEvent) => void): Promise<{ data: Buffer; stat: Stat }> {
    return new Promise((resolve, reject) => {
      const cb = (rc: number, error: string, stat: NativeStat, data: Buffer | null): void => {
        if (rc === 0) resolve({ data: data ?? Buffer.alloc(0), stat: toStat(stat) });
        else reject(new ZkError('get', path, rc, error));
      };
      this.#send('get', path, reject, () =>
        watch === undefined
          ? this.#native.a_get(path, false, cb)
          : this.#native.aw_get(path, toWatcher(watch), cb),
      );
    });
  }

  children(path: string, watch?: (event: WatchEvent) => void): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const cb = (rc: number, error: string, children: string[]): void => {
        if (rc === 0) resolve([...children].sort());
        else reject(new ZkError('children', path, rc, error));
      };
      this.#send('children', path, reject, () =>
        watch === undefined
          ? this.#native.a_get_children(path, false, cb)
          : this.#native.aw_get_children(path, toWatcher(watch), cb),
      );
    });
  }

  /** Writes only if the node is still at `version` (-1: any version). The returned stat carries the new mzxid. */
  set(path: string, data: Buffer | string, version: number): Promise<Stat> {
    return new Promise((resolve, reject) => {
      this.#send('set', path, reject, () =>
        this.#native.a_set(path, data, version, (rc, error, stat) => {
          if (rc === 0) resolve(toStat(stat));
          else reject(new ZkError('set', path, rc, error));
        }),
      );
    });
  }

  delete(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#send('delete', path, reject, () =>
        this.#native.a_delete_(path, version, (rc, error) => {
          if (rc === 0) resolve();
          else reject(new ZkError('delete', path, rc, error));
        }),
      );
    });
  }

  /** Deletes a node and everything below it; a node already gone is fine. */
  async deleteTree(path: string): Promise<void> {
    const children = await this.#childrenIfAny(path);
    if (children === undefined) return;
    await Promise.all(children.map((child) => this.deleteTree(`${path === '/' ? '' : path}/${child}`)));
    try {
      await this.delete(path);
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) throw error;
    }
  }

  /** The node's children, or undefined when the node is gone. */
  async #childrenIfAny(path: string): Promise<string[] | undefined> {
    try {
      return await this.children(path);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }

  /**
   * Issues one request. A request the C client refused (closed or expired handle) is rejected
   * at once: its callback would never be called.
   *
   * Then the socket check (issue #12, hole 5: schedulers died of SIGABRT at ZooKeeper
   * restarts, under CPU load). The C client sends each request straight away, and when that
   * send fails (the server went away and the event loop has not read the reset yet) it closes
   * its socket and marks the handle not connected (`nonblocking_send` in zookeeper.c), without
   * the binding knowing: the binding's libuv poll watcher stays on the closed descriptor. At
   * the next poll libuv's `epoll_ctl` fails with EBADF and libuv calls abort(), with nothing on
   * stderr (seen in a core: the watcher on fd 21, the C client's socket -1, its state 999);
   * had the number been reused meanwhile, the watcher would take another socket's events.
   * Closing the handle here, before the loop polls again, stops the watcher. The session is
   * then reported expired, and its owner opens a new one: a scheduler rejoins, as after any
   * session loss, rather than dying.
   */
  #send(op: string, path: string, reject: (error: unknown) => void, request: () => number): void {
    const rc = request();
    if (rc !== 0) reject(new ZkError(op, path, rc, 'request not sent'));
    if (
      this.#state !== 'closed' &&
      this.#state !== 'expired' &&
      this.#native.state === ZOO_NOTCONNECTED_STATE
    )
      this.#dropBrokenConnection();
  }

  #dropBrokenConnection(): void {
    // Set first: the native close emits 'close', which must not be reported a second time.
    this.#state = 'expired';
    this.#client.close();
    // Told after the request that found the socket closed has returned to its caller.
    queueMicrotask(() => this.emit('state', 'expired'));
  }

  /** Ends the session: its ephemeral nodes vanish at once for everyone else. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#client.close();
  }
}

function toStat(stat: NativeStat): Stat {
  return {
    version: stat.version,
    cversion: stat.cversion,
    mzxid: stat.mzxid,
    czxid: stat.czxid,
    ctime: stat.ctime,
    mtime: stat.mtime,
    ephemeralOwner: String(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

function toWatcher(watch: (event: WatchEvent) => void): WatchCallback {
  return (type, _state, path) => {
    const kind =
      type === C.ZOO_CREATED_EVENT
        ? 'created'
        : type === C.ZOO_DELETED_EVENT
          ? 'deleted'
          : type === C.ZOO_CHANGED_EVENT
            ? 'changed'
            : type === C.ZOO_CHILD_EVENT
              ? 'children'
              : 'session';
    watch({ type: kind, path });
  };
}

/** ZooKeeper's digest identity for `user:password`: `user:base64(sha1(user:password))`. */
function digestId(auth: string): string {
  const user = auth.slice(0, auth.indexOf(':'));
  return `${user}:${createHash('sha1').update(auth, 'utf8').digest('base64')}`;
}
