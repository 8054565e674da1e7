// heartline/core (issue 13, item 2): connect() assembled from the parts given, and only those
// parts reach a bundle. The core imports no transport, no protocol and no uploads.
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectWith, protocol, websocket } from '../src/compose';
import { FakeWebSocket, lastSocket, resetSockets } from './fake-websocket';
import { advance, settle } from './helpers';

const inputs = async (source: string): Promise<string[]> => {
  const r = await build({
    stdin: { contents: source, resolveDir: resolve(__dirname, '../src'), loader: 'ts' },
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    logLevel: 'silent',
  });
  // Files with bytes in the output: parsed but tree-shaken ones do not count.
  const used = Object.entries(Object.values(r.metafile.outputs)[0]!.inputs).filter(([, v]) => v.bytesInOutput > 0);
  return used.map(([f]) => f.replace(/^.*?src\//, ''));
};

describe('what reaches the bundle', () => {
  it('heartline/ws: the core and the WebSocket transport, no protocol, fallback, HTTP transport or uploads', async () => {
    const got = await inputs("export { connect } from './ws';");
    expect(got).toContain('core.ts');
    expect(got).toContain('transports/websocket.ts');
    for (const f of ['negotiate.ts', 'fallback.ts', 'protocol.ts', 'transports/sse.ts', 'transports/longpoll.ts', 'transports/http.ts', 'upload.ts', 'sse-parser.ts']) expect(got).not.toContain(f);
  }, 20000);

  it('connectWith({ transports: [websocket], protocol }): the protocol, and still no HTTP transport or uploads', async () => {
    const got = await inputs("import { connectWith, websocket, protocol } from './compose';\nexport const connect = connectWith({ transports: [websocket], protocol });");
    expect(got).toContain('negotiate.ts');
    for (const f of ['fallback.ts', 'transports/sse.ts', 'transports/longpoll.ts', 'transports/http.ts', 'upload.ts', 'sse-parser.ts']) expect(got).not.toContain(f);
  }, 20000);

  it('the core alone imports no transport, protocol or uploads', async () => {
    const got = await inputs("export { open } from './core';");
    for (const f of ['transports/websocket.ts', 'negotiate.ts', 'fallback.ts', 'transports/sse.ts', 'upload.ts']) expect(got).not.toContain(f);
  }, 20000);
});

describe('connectWith', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    resetSockets();
    sessionStorage.clear();
  });
  afterEach(() => vi.useRealTimers());

  it('with the protocol: offers it, answers the welcome, resumes and is acknowledged; upload() says there are no uploads', async () => {
    const connect = connectWith({ transports: [websocket], protocol });
    const c = connect('ws://127.0.0.1:1/live', { WebSocket: FakeWebSocket as never });
    await settle();
    const s = lastSocket();
    expect(new URL(s.url).searchParams.get('heartline')).toBe('1');
    s.open();
    s.receive('welcome {"v":1}');
    expect(s.sent[0]).toMatch(/^hello /);
    s.receive('ready {"session":"s1","ack":0}');
    expect(c.state).toBe('open');
    const acked = c.sendWithAck('m1');
    expect(s.sent.at(-1)).toBe('msg 1\nm1');
    s.receive('ack 1');
    await expect(acked).resolves.toBeUndefined();
    await expect(c.upload(new Blob(['x']))).rejects.toMatchObject({ code: 'upload' });
    c.close();
  });

  it('without the protocol: every server is plain, and the fallback options are still checked', async () => {
    const connect = connectWith({ transports: [websocket] });
    expect(() => connect('ws://127.0.0.1:1/live', { transports: ['carrier-pigeon' as never] })).toThrow(/transports/);
    const c = connect('ws://127.0.0.1:1/live', { WebSocket: FakeWebSocket as never });
    await settle();
    const s = lastSocket();
    expect(s.url).toBe('ws://127.0.0.1:1/live');
    s.open();
    expect(c.state).toBe('open');
    s.receive('welcome {"v":1}'); // a message like any other
    c.send('m');
    expect(s.sent).toEqual(['m']);
    await advance(10);
    c.close();
  });
});
