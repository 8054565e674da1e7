// Upload endpoints of the bench server (the "upload" phase), same origin as the pages:
//
//   WebSocket /up/ws?size=N   the raw gated loop's server: counts binary bytes, echoes every text
//                             frame (`ping 7` -> `ping 7`), and sends {"done":{bytes}} once N bytes
//                             arrived. Also the echo socket that times heartbeats for contestants
//                             that upload over HTTP (fetch, tus).
//   POST /up/post             one request body, counted and discarded; answers {"bytes":N}.
//   /up/tus/…                 a minimal tus 1.0.0 server (creation, PATCH, HEAD, OPTIONS; offsets in
//                             memory, bytes counted and discarded) for tus-js-client.
//
//   WebSocket /up/hl          a lean heartline-protocol server for uploads only (welcome/hello/ready,
//                             ping/pong, msg/ack, up.open/up.chunk/up.ack/up.done): checks offsets,
//                             verifies no checksum, stores nothing. A control: heartline's client
//                             cost without the fixture server's per-chunk SHA-256 and file writes.
//
// heartline's uploads go to the e2e fixture server (e2e/server.mjs, route /hl/<stream>), which
// speaks PROTOCOL.md section 7; see bench/run.mjs. Nothing here buffers a body: bytes are counted
// as they arrive.
import { WebSocketServer } from 'ws';

const TUS_HEADERS = { 'Tus-Resumable': '1.0.0', 'Cache-Control': 'no-store' };

export function uploadRoutes() {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 30 });
  const tus = new Map(); // id -> { length, offset }
  let ids = 0;

  /** Returns true when it handled the request. */
  function http(req, res, url) {
    const p = url.pathname;
    if (p === '/up/post' && req.method === 'POST') {
      let bytes = 0;
      req.on('data', (d) => (bytes += d.length));
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ bytes })));
      return true;
    }
    if (!p.startsWith('/up/tus')) return false;
    tusRequest(req, res, p);
    return true;
  }

  function tusRequest(req, res, p) {
    const id = p.slice('/up/tus/'.length);
    const f = tus.get(id);
    const refuse = (status) => (req.resume(), res.writeHead(status, TUS_HEADERS).end());
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...TUS_HEADERS, 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation', 'Tus-Max-Size': String(1 << 30) }).end();
    } else if (req.method === 'POST' && (p === '/up/tus' || p === '/up/tus/')) {
      const length = Number(req.headers['upload-length']);
      if (!Number.isSafeInteger(length) || length < 0) return refuse(400);
      const key = `f${++ids}`;
      tus.set(key, { length, offset: 0 });
      req.resume();
      res.writeHead(201, { ...TUS_HEADERS, Location: `/up/tus/${key}`, 'Upload-Offset': '0' }).end();
    } else if (req.method === 'HEAD') {
      if (!f) return refuse(404);
      res.writeHead(200, { ...TUS_HEADERS, 'Upload-Offset': String(f.offset), 'Upload-Length': String(f.length) }).end();
    } else if (req.method === 'PATCH') {
      if (!f) return refuse(404);
      if (req.headers['content-type'] !== 'application/offset+octet-stream') return refuse(415);
      if (Number(req.headers['upload-offset']) !== f.offset) return refuse(409);
      // Bytes count as stored as they arrive (a real server would write them): an interrupted
      // PATCH keeps what it delivered, as the protocol allows.
      req.on('data', (d) => (f.offset = Math.min(f.length, f.offset + d.length)));
      req.on('end', () => res.writeHead(204, { ...TUS_HEADERS, 'Upload-Offset': String(f.offset) }).end());
    } else if (req.method === 'DELETE') {
      tus.delete(id);
      res.writeHead(204, TUS_HEADERS).end();
    } else refuse(405);
  }

  /** Returns true when it took the upgrade. */
  function upgrade(req, socket, head, url) {
    if (url.pathname === '/up/hl') return wss.handleUpgrade(req, socket, head, leanHeartline), true;
    if (url.pathname !== '/up/ws') return false;
    const size = Number(url.searchParams.get('size') ?? -1);
    wss.handleUpgrade(req, socket, head, (ws) => {
      let bytes = 0;
      let done = false;
      ws.on('error', () => {});
      ws.on('message', (d, binary) => {
        if (!binary) return ws.send(d, { binary: false });
        bytes += d.length;
        if (!done && bytes === size) {
          done = true;
          ws.send(JSON.stringify({ done: { bytes } }));
        }
      });
    });
    return true;
  }

  /** PROTOCOL.md sections 3 and 7, the least of them: enough for connect() and conn.upload(). */
  function leanHeartline(ws) {
    const ups = new Map(); // id -> { size, held }
    let acked = 0;
    ws.on('error', () => {});
    ws.send(`welcome ${JSON.stringify({ v: 1 })}`);
    ws.on('message', (d, binary) => {
      if (binary) {
        // A chunk frame: `up.chunk ID OFFSET CHECK\n` + bytes.
        const nl = d.indexOf(10);
        const [type, id, offset] = d.toString('latin1', 0, nl).split(' ');
        const u = type === 'up.chunk' ? ups.get(id) : undefined;
        if (!u) return;
        if (+offset !== u.held) return ws.send(`up.offset ${u.id} ${u.held}`);
        u.held += d.length - nl - 1;
        ws.send(`up.ack ${u.id} ${u.held}`);
        if (u.held === u.size) ws.send(`up.done ${u.id} ${JSON.stringify({ id: u.id, size: u.size })}`);
        return;
      }
      const text = d.toString();
      const nl = text.indexOf('\n');
      const [type, a] = (nl < 0 ? text : text.slice(0, nl)).split(' ');
      if (type === 'hello') ws.send(`ready ${JSON.stringify({ session: 'lean', ack: acked, resumed: false })}`);
      else if (type === 'ping') ws.send(`pong ${a}`);
      else if (type === 'msg') ws.send(`ack ${(acked = +a)}`);
      else if (type === 'up.open') {
        const info = JSON.parse(text.slice(nl + 1));
        const u = ups.get(a) ?? { id: a, size: info.size, held: 0 };
        ups.set(a, u);
        ws.send(`up.offset ${a} ${u.held}`);
      }
    });
  }

  return { http, upgrade, close: () => wss.close(), tusFiles: () => tus.size };
}
