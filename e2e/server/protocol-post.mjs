// The heartline protocol's send channel over HTTP (PROTOCOL.md section 5): `POST /hl/<stream>?
// heartline=1&session=…` with length-prefixed frames; answered `ack SEQ`. Answers to control
// frames (`pong N`) go down the session's current event stream.
import { seqOf } from './protocol.mjs';
import { plain } from './protocol-http.mjs';

const POST_LIMIT = 16 * 1024 * 1024;

/** Section 5: `TYPE FIELD… LENGTH\n` + LENGTH bytes, repeated. null when malformed. */
export function parseBody(buf) {
  const frames = [];
  for (let at = 0; at < buf.length; ) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) return null;
    const fields = buf.toString('utf8', at, nl).split(' ');
    const len = /^\d+$/.test(fields.at(-1)) ? Number(fields.at(-1)) : NaN;
    if (fields.length < 2 || !(nl + 1 + len <= buf.length)) return null;
    frames.push({ type: fields[0], arg: fields[1], header: fields.slice(0, -1).join(' '), payload: buf.subarray(nl + 1, nl + 1 + len) });
    at = nl + 1 + len;
  }
  return frames;
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => (size += chunk.length) <= POST_LIMIT && chunks.push(chunk));
    req.on('end', () => resolve(size <= POST_LIMIT ? Buffer.concat(chunks) : 'too large'));
    req.on('error', () => resolve(null));
  });
}

export async function post(req, res, params, stream) {
  const session = stream.find(params.get('session'));
  if (!session) return req.resume(), plain(res, 409, 'unknown session\n');
  const body = await readBody(req);
  if (body === null) return;
  const frames = body === 'too large' ? null : parseBody(body);
  if (!frames) return plain(res, body === 'too large' ? 413 : 400, 'malformed frames\n');
  const echo = params.get('echo') !== '0';
  for (const { type, arg, header, payload } of frames) {
    const binary = type === 'bin';
    stream.state.recordFrame(binary ? payload : Buffer.from(`${header}\n${payload}`), binary);
    if (type === 'msg') stream.receive(session, seqOf(arg), payload.toString('utf8'), false, echo);
    else if (binary) stream.receive(session, seqOf(arg), Buffer.from(payload), true, echo);
    else if (type === 'ping') session.link?.frame(`pong ${arg}`);
    else if (type === 'bye') stream.forget(session);
  }
  plain(res, 200, `ack ${session.last}`);
}
