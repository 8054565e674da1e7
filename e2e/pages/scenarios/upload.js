// conn.upload() with real files picked through an <input type=file> (the driver sets them, as a
// user would), against the reference server's uploads (PROTOCOL.md section 7). The connection is
// cut twice in the middle of each large upload; the server's SHA-256 must match the file's.
import { assert, within } from '../lib.js';

const RC = { initialDelay: 50, maxDelay: 300, factor: 2, jitter: 1 };
const MiB = 1024 * 1024;

/** Adds the file input, asks the driver to pick the set's files, returns [File, { name, size, sha256 }] pairs. */
async function pick(ctx, set) {
  const input = document.createElement('input');
  input.type = 'file';
  input.multiple = true;
  input.id = 'hl-files';
  document.body.append(input);
  const info = await ctx.driver(`files:${set}`, 60000);
  const files = [...input.files];
  assert(files.length === info.length, `picked ${files.length} files, the driver set ${info.length}`);
  return files.map((f, i) => {
    assert(f.name === info[i].name && f.size === info[i].size, `file ${i}: ${f.name} ${f.size} vs ${JSON.stringify(info[i])}`);
    return [f, info[i]];
  });
}

async function uploadSet(H, ctx, transport, set, chunkSize, cutFrom, verify = false) {
  const picked = await pick(ctx, set);
  const rec = ctx.connect(H, ctx.hlUrl({ echo: 0, hb: 1000, hold: 2000 }), {
    transports: [transport],
    heartbeat: { interval: 2000, timeout: 5000 },
    reconnect: RC,
  });
  await rec.wait('open', { timeout: 5000 });
  const results = [];
  for (const [file, want] of picked) {
    const big = file.size >= cutFrom; // smaller files finish before a cut could land
    const cuts = [];
    let acked = 0;
    let fromZero = 0;
    let calls = 0;
    const started = ctx.now();
    let last = null; // the last progress report, and when: to tell a client that stopped sending from a server that stopped answering
    const result = await within(
      rec.conn.upload(file, {
        chunkSize,
        verify, // the per-chunk check (PROTOCOL.md section 7), verified by the server when on
        metadata: { test: 'upload' },
        onProgress(p) {
          calls += 1;
          last = { ...p, atMs: Math.round(ctx.now() - started) };
          assert(p.total === file.size && p.acknowledged <= p.sent && p.sent <= p.total, `progress ${JSON.stringify(p)}`);
          if (p.sent < acked) fromZero += 1; // would mean it went back below what the server had acknowledged
          acked = Math.max(acked, p.acknowledged);
          // Two cuts while bytes are still to come: a clean close, then a dead TCP connection.
          const at = [0.3, 0.65][cuts.length];
          if (big && at && p.acknowledged >= at * p.total && p.acknowledged < p.total) {
            cuts.push(ctx.control(cuts.length ? 'destroy' : 'drop', cuts.length ? {} : { code: 1001 }));
          }
        },
      }),
      90000,
      `upload of ${file.name}`,
    ).catch(async (e) => {
      // Say which side stopped: the client's last progress and what the server holds.
      const held = await ctx.stats().then((st) => st.uploads.find((u) => u.name === file.name), () => 'no stats');
      throw new Error(`${e.message}\nlast progress ${JSON.stringify(last)} after ${Math.round(ctx.now() - started)} ms; server: ${JSON.stringify(held)}`);
    });
    await Promise.all(cuts);
    const ms = ctx.now() - started;
    assert(result.size === want.size && result.sha256 === want.sha256, `${file.name}: server ${JSON.stringify(result)}, file ${want.sha256}`);
    assert(result.name === file.name, `name ${result.name}`);
    assert(fromZero === 0, `${file.name}: progress went back below the acknowledged offset ${fromZero} times`);
    if (big) assert(cuts.length === 2, `${file.name}: ${cuts.length} cuts`);
    results.push({ name: file.name, size: file.size, cuts: cuts.length, progressCalls: calls, ms: Math.round(ms), MBps: +(file.size / 1e3 / Math.max(1, ms)).toFixed(1) });
  }
  const stats = await ctx.stats();
  for (const r of results) {
    const s = stats.uploads.find((u) => u.name === r.name);
    assert(s && s.done && s.received === r.size, `server stats for ${r.name}: ${JSON.stringify(s)}`);
    // Resumed after each cut: one up.open per connection that carried it.
    if (r.cuts) assert(s.opens >= 1 + r.cuts, `${r.name}: ${s.opens} up.open for ${r.cuts} cuts`);
    r.opens = s.opens;
    r.resentChunks = s.resends;
  }
  assert(rec.events('open').length >= 1 + results.reduce((n, r) => n + r.cuts, 0), 'a reconnect per cut');
  return { transport, verify, files: results };
}

// Cut twice during the 128 MiB file (WebSocket: hundreds of MB/s on loopback, a 5 MiB file is gone
// in a few ms); over HTTP, smaller chunks (more POSTs) so the cuts land in the 12 MiB file.
// The check is off by default; the [iife] WebSocket run and the SSE run turn it on.
export const uploadWebsocket = (H, ctx) => uploadSet(H, ctx, 'websocket', 'all', undefined, 64 * MiB, ctx.build === 'iife');
export const uploadSse = (H, ctx) => uploadSet(H, ctx, 'sse', 'http', 256 * 1024, 4 * MiB, true);
export const uploadLongpoll = (H, ctx) => uploadSet(H, ctx, 'longpoll', 'http', 256 * 1024, 4 * MiB);
