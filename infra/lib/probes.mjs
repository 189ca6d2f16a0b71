// @ts-check
// Wire-protocol probes: a real ZooKeeper session handshake and a real Kafka Metadata request
// (no four-letter words needed), used to tell a server that answers from one that only runs.

import net from 'node:net';

/**
 * Send `payload` to host:port and feed the bytes received to `parse` until it
 * returns something other than undefined. Rejects on error, close or timeout.
 */
export function exchange(host, port, payload, parse, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const sock = net.connect({ host, port });
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.once('connect', () => sock.write(payload));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const v = parse(buf);
        if (v !== undefined) finish(null, v);
      } catch (e) {
        finish(e);
      }
    });
    sock.once('error', (e) => finish(e));
    sock.once('close', () => finish(new Error('connection closed before a complete answer')));
  });
}

/** One length-prefixed frame (int32 size + body), or undefined while incomplete. */
export function frame(buf) {
  if (buf.length < 4) return undefined;
  const size = buf.readInt32BE(0);
  if (size < 0 || size > 64 * 1024 * 1024) throw new Error(`bad frame size ${size}`);
  return buf.length >= 4 + size ? buf.subarray(4, 4 + size) : undefined;
}

/**
 * ZooKeeper: open a real session (ConnectRequest) and close it again.
 * Resolves { sessionId, timeoutMs } when the server accepted the session.
 */
export async function probeZooKeeper(host, port, timeoutMs = 3000) {
  // ConnectRequest: protocolVersion int, lastZxidSeen long, timeOut int, sessionId long, passwd buffer, readOnly bool
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  let o = 0;
  o = body.writeInt32BE(0, o);
  o = body.writeBigInt64BE(0n, o);
  o = body.writeInt32BE(10_000, o);
  o = body.writeBigInt64BE(0n, o);
  o = body.writeInt32BE(16, o);
  o += 16; // zero password
  body.writeInt8(0, o);
  const connect = Buffer.concat([u32(body.length), body]);
  // CloseSession: RequestHeader(xid=1, type=-11), sent right after the ConnectRequest
  const close = Buffer.alloc(12);
  close.writeInt32BE(8, 0);
  close.writeInt32BE(1, 4);
  close.writeInt32BE(-11, 8);
  return exchange(
    host,
    port,
    Buffer.concat([connect, close]),
    (buf) => {
      const f = frame(buf);
      if (!f) return undefined;
      if (f.length < 16) throw new Error('short ConnectResponse');
      const negotiated = f.readInt32BE(4);
      const sessionId = f.readBigInt64BE(8);
      if (negotiated <= 0 || sessionId === 0n)
        throw new Error('ZooKeeper refused the session (is it serving?)');
      return { sessionId: `0x${sessionId.toString(16)}`, timeoutMs: negotiated };
    },
    timeoutMs,
  );
}

/** ZooKeeper `srvr` four-letter word (whitelisted in our zoo.cfg); the raw text or null. */
export async function zkSrvr(host, port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    let out = '';
    const sock = net.connect({ host, port }, () => sock.write('srvr'));
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, timeoutMs);
    sock.on('data', (c) => (out += c));
    sock.once('error', () => {});
    sock.once('close', () => {
      clearTimeout(timer);
      resolve(out || null);
    });
  });
}

export function u32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

export function kString(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/**
 * Kafka: a real Metadata v4 request (header v1; no topics, no auto-create).
 * Resolves { brokers: [{nodeId, host, port}], clusterId, controllerId }.
 */
export async function probeKafka(host, port, timeoutMs = 3000) {
  const correlationId = (Math.random() * 0x7fffffff) | 0;
  const header = Buffer.alloc(8);
  header.writeInt16BE(3, 0); // api_key Metadata
  header.writeInt16BE(4, 2); // api_version 4
  header.writeInt32BE(correlationId, 4);
  const body = Buffer.concat([
    u32(0) /* topics: empty array = none */,
    Buffer.from([0]) /* allow_auto_topic_creation */,
  ]);
  const req = Buffer.concat([header, kString('nono-infra'), body]);
  return exchange(
    host,
    port,
    Buffer.concat([u32(req.length), req]),
    (buf) => {
      const f = frame(buf);
      if (!f) return undefined;
      let o = 0;
      const int16 = () => ((o += 2), f.readInt16BE(o - 2));
      const int32 = () => ((o += 4), f.readInt32BE(o - 4));
      const str = () => {
        const n = int16();
        if (n < 0) return null;
        o += n;
        return f.toString('utf8', o - n, o);
      };
      if (int32() !== correlationId) throw new Error('Metadata response with a wrong correlation id');
      int32(); // throttle_time_ms
      const brokers = [];
      for (let i = int32(); i > 0; i--)
        brokers.push({ nodeId: int32(), host: str(), port: int32(), rack: str() });
      const clusterId = str();
      const controllerId = int32();
      return { brokers, clusterId, controllerId };
    },
    timeoutMs,
  );
}

/** { ok, detail } for one server: a real client request must succeed. */
export async function probe(srv, timeoutMs = 3000) {
  try {
    if (srv.kind === 'zookeeper') {
      const r = await probeZooKeeper(srv.host, srv.port, timeoutMs);
      return { ok: true, detail: `session ${r.sessionId} accepted` };
    }
    const r = await probeKafka(srv.host, srv.port, timeoutMs);
    const self = r.brokers.find((b) => b.port === srv.port);
    if (!self) return { ok: false, detail: 'Metadata answered but lists no live broker yet' };
    return {
      ok: true,
      detail: `${r.brokers.length} broker(s), cluster id ${r.clusterId}, controller ${r.controllerId}`,
      clusterId: r.clusterId,
    };
  } catch (e) {
    return { ok: false, detail: e.message };
  }
}
