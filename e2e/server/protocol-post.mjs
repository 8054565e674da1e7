// The heartline protocol's send channel over HTTP (PROTOCOL.md section 5): `POST /hl/<stream>?
// heartline=1&session=…&seq=N[&bin=1]` with one message as the body, or a control frame as the
// body without `seq`; answered `ack SEQ`. Answers to control frames (`pong N`) go down the
// session's current event stream. Upload frames (section 7) are the exception: `up.open`,
// `up.abort` and `up.chunk ID OFFSET SHA\n<bytes>` are answered in the response body itself.
import { parseFrame, seqOf } from './protocol.mjs';
import { plain } from './protocol-http.mjs';
import { splitFrame } from './uploads.mjs';

const POST_LIMIT = 16 * 1024 * 1024; // an application message
const CHUNK_LIMIT = 64 * 1024 * 1024; // a body without `seq`: a control frame or an upload chunk
const HEAD = 256; // bytes kept of a body over the limit, to name the upload it belonged to

/** The body, or `{ tooLarge, head }` past `limit` (only its first bytes kept), or null on error. */
function readBody(req, limit) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let head = null;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (!head) (head = Buffer.concat([...chunks, chunk], Math.min(HEAD, size))), (chunks.length = 0);
    });
    req.on('end', () => resolve(head ? { tooLarge: true, head } : Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}

/**
 * An upload frame as a POST body: the header line, `\n`, then the JSON (`up.open`) or the raw bytes
 * (`up.chunk`), split at the first 0x0A byte. The response body is the answer frame; where the
 * WebSocket would send two (`up.ack` + `up.done`, `up.offset` + `up.done`), the last one, which
 * implies the first. `up.abort` has no answer: an empty body.
 */
function postUpload(res, params, stream, session, body) {
  const { header, fields, rest, nl } = splitFrame(body);
  const chunk = fields[0] === 'up.chunk';
  const payload = chunk ? '' : rest.toString('utf8');
  // Recorded as the WebSocket would carry them: a chunk is one binary frame, the rest text.
  stream.state.recordFrame(chunk ? body : Buffer.from(nl < 0 ? header : `${header}\n${payload}`), chunk);
  const frames = stream.uploads.frame(session, fields, payload, rest, params);
  plain(res, 200, frames.at(-1) ?? '');
}

/** A chunk over CHUNK_LIMIT fails its upload (the client would only send it again). */
function chunkTooLarge(res, stream, session, head) {
  const { fields } = parseFrame(head.toString('utf8'));
  if (fields[0] !== 'up.chunk') return plain(res, 413, 'too large\n');
  plain(res, 200, stream.uploads.chunkTooLarge(session, fields[1])[0]);
}

export async function post(req, res, params, stream) {
  const session = stream.find(params.get('session'));
  if (!session) return req.resume(), plain(res, 409, 'unknown session\n');
  const seq = params.get('seq');
  const body = await readBody(req, seq === null ? CHUNK_LIMIT : POST_LIMIT);
  if (body === null) return;
  if (body.tooLarge) return seq === null ? chunkTooLarge(res, stream, session, body.head) : plain(res, 413, 'too large\n');
  if (seq === null && /^up\.\w+ /.test(body.toString('latin1', 0, 16))) return postUpload(res, params, stream, session, body);
  const echo = params.get('echo') !== '0';
  if (seq !== null) {
    // One application message: its SEQ in the query, its bytes as the body (section 5).
    const binary = params.get('bin') === '1';
    stream.state.recordFrame(binary ? body : Buffer.from(`msg ${seq}\n${body}`), binary);
    stream.receive(session, seqOf(seq), binary ? Buffer.from(body) : body.toString('utf8'), binary, echo);
  } else {
    // A control frame as the body: `ping N`, `pong N` or `bye`.
    const [type, arg] = body.toString('utf8').split(' ');
    if (type === 'ping') session.link?.frame(`pong ${arg}`);
    else if (type === 'bye') stream.forget(session);
  }
  plain(res, 200, `ack ${session.last}`);
}
