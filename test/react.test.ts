import { StrictMode, createElement as h, useEffect } from 'react';
import type { ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { hydrateRoot } from 'react-dom/client';
import { act, cleanup, render } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartlineError, UploadError, connect } from '../src/index';
import type { Connection, Options } from '../src/index';
import { useConnection, useConnectionState, useMessage } from '../src/react/index';
import type { UseConnection } from '../src/react/index';
import { FakeWebSocket, lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import { URL_, settle } from './helpers';

const WS = FakeWebSocket as never;
const strict = (node: ReactNode) => h(StrictMode, null, node);

/** Everything the hook returned, render by render. */
let seen: UseConnection[] = [];
const last = (): UseConnection => seen[seen.length - 1]!;

function Probe(props: { url?: string; options?: Options; onMessage?: (d: unknown) => void; children?: ReactNode }) {
  const result = useConnection(props.url ?? URL_, { WebSocket: WS, protocol: 'plain', ...props.options });
  useMessage(result.connection, (d) => props.onMessage?.(d));
  seen.push(result);
  return h('p', null, result.state, props.children);
}

/** Lets the effects' connection start and its attempt create the socket. */
const flush = () => act(() => settle());
const openSocket = async (): Promise<FakeWebSocket> => {
  await flush();
  const s = lastSocket();
  await act(() => s.open());
  return s;
};

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
  seen = [];
});
afterEach(() => {
  cleanup();
  expect(liveSockets()).toEqual([]);
  vi.useRealTimers();
});

describe('useConnection', () => {
  it('opens exactly one socket under StrictMode, and renders connecting then open', async () => {
    const { container } = render(strict(h(Probe)));
    expect(container.textContent).toBe('connecting');
    await flush();
    expect(sockets).toHaveLength(1);
    await act(() => lastSocket().open());
    expect(sockets).toHaveLength(1);
    expect(container.textContent).toBe('open');
    expect(last()).toMatchObject({ state: 'open', transport: 'websocket', lastEventId: '', error: undefined });
    expect(last().connection?.state).toBe('open');
    expect(seen.map((r) => r.state)).not.toContain('closed'); // no flash of a connection not started yet
  });

  it('delivers messages to the latest handler without re-subscribing when the handler changes', async () => {
    const got: string[] = [];
    const { rerender } = render(strict(h(Probe, { onMessage: (d) => got.push(`first ${d}`) })));
    const s = await openSocket();
    const on = vi.spyOn(last().connection!, 'on');
    await act(() => s.receive('a'));
    rerender(strict(h(Probe, { onMessage: (d) => got.push(`second ${d}`) })));
    await act(() => s.receive('b'));
    expect(got).toEqual(['first a', 'second b']);
    expect(on).not.toHaveBeenCalled();
    expect(sockets).toHaveLength(1);
  });

  it('keeps the connection for new option objects and functions with the same content, and calls the latest function', async () => {
    const calls: string[] = [];
    const options = (n: number): Options => ({
      json: true,
      reconnect: { initialDelay: 10, maxDelay: 1000 },
      auth: () => (calls.push(`auth ${n}`), `token ${n}`),
    });
    const { rerender } = render(strict(h(Probe, { options: options(1) })));
    const s = await openSocket();
    expect(s.sent).toEqual(['token 1']);
    // Same content, keys in another order, fresh objects and functions: no reconnect.
    rerender(strict(h(Probe, { options: { auth: options(2).auth!, reconnect: { maxDelay: 1000, initialDelay: 10 }, json: true } })));
    await flush();
    expect(sockets).toHaveLength(1);
    // The next attempt (after a drop) calls the auth of the latest render.
    await act(() => s.serverClose(1006));
    await act(() => vi.advanceTimersByTimeAsync(10));
    expect(sockets).toHaveLength(2);
    await act(() => lastSocket().open());
    expect(lastSocket().sent).toEqual(['token 2']);
    expect(calls).toEqual(['auth 1', 'auth 2']);
  });

  it('calls the latest URL function on the next attempt without reconnecting when only its identity changes', async () => {
    function ByFunction({ room }: { room: string }) {
      useConnection(() => `ws://127.0.0.1:1/${room}`, { WebSocket: WS, protocol: 'plain', reconnect: { initialDelay: 10 } });
      return null;
    }
    const { rerender } = render(strict(h(ByFunction, { room: 'a' })));
    const a = await openSocket();
    rerender(strict(h(ByFunction, { room: 'b' })));
    await flush();
    expect(sockets).toHaveLength(1);
    await act(() => a.serverClose(1006));
    await act(() => vi.advanceTimersByTimeAsync(10));
    expect(sockets.map((s) => s.url)).toEqual(['ws://127.0.0.1:1/a', 'ws://127.0.0.1:1/b']);
    await act(() => lastSocket().open());
  });

  it('does not reconnect when only lastEventId changes', async () => {
    const { rerender } = render(strict(h(Probe, { options: { lastEventId: '1' } })));
    await openSocket();
    rerender(strict(h(Probe, { options: { lastEventId: '2' } })));
    await flush();
    expect(sockets).toHaveLength(1);
  });

  it('replaces the connection when the URL or an option that matters changes', async () => {
    const { rerender, container } = render(strict(h(Probe, { url: 'ws://127.0.0.1:1/a' })));
    const a = await openSocket();
    const before = last().connection;
    rerender(strict(h(Probe, { url: 'ws://127.0.0.1:1/b' })));
    expect(container.textContent).toBe('connecting'); // at once, not the old connection's state
    expect(a.closedWith).toEqual([1000, '']);
    await flush();
    expect(sockets.map((s) => s.url)).toEqual(['ws://127.0.0.1:1/a', 'ws://127.0.0.1:1/b']);
    expect(last().connection).not.toBe(before);
    expect(before?.state).toBe('closed');
    await act(() => lastSocket().open());
    rerender(strict(h(Probe, { url: 'ws://127.0.0.1:1/b', options: { protocols: ['v2'] } })));
    await flush();
    expect(sockets).toHaveLength(3);
    expect(lastSocket().protocols).toEqual(['v2']);
    expect(liveSockets()).toHaveLength(1);
  });

  it('closes on unmount and leaves no timer behind', async () => {
    const { unmount } = render(strict(h(Probe, { options: { heartbeat: { interval: 1000, timeout: 1000 } } })));
    const s = await openSocket();
    const conn = last().connection!;
    unmount();
    expect(s.closedWith).toEqual([1000, '']);
    expect(conn.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands data sent before the connection exists (a child effect of the first commit) over once, in order', async () => {
    function Child({ send }: { send: (d: unknown) => void }) {
      useEffect(() => {
        send({ n: 1 });
        send({ n: 2 });
      }, [send]);
      return null;
    }
    function Parent() {
      const { send, state } = useConnection(URL_, { WebSocket: WS, protocol: 'plain', json: true });
      return h('p', null, state, h(Child, { send }));
    }
    render(strict(h(Parent)));
    const s = await openSocket();
    // StrictMode ran the child's effect twice; the first run's data went with the discarded mount.
    expect(s.sent).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('with lazy: renders closed and opens no socket until the first send (or useMessage, the core\'s lazy rule)', async () => {
    function Lazy() {
      const result = useConnection(URL_, { WebSocket: WS, protocol: 'plain', lazy: true });
      seen.push(result);
      return h('p', null, result.state);
    }
    const { container } = render(strict(h(Lazy)));
    await flush();
    expect(container.textContent).toBe('closed');
    expect(sockets).toHaveLength(0);
    await act(() => last().send('hi'));
    await flush();
    expect(sockets).toHaveLength(1);
    await act(() => lastSocket().open());
    expect(lastSocket().sent).toEqual(['hi']);
    expect(container.textContent).toBe('open');
  });

  it('renders the latest error from the snapshot', async () => {
    render(strict(h(Probe, { options: { json: true } })));
    const s = await openSocket();
    await act(() => s.receive('{not json'));
    expect(last().error?.code).toBe('malformed');
    expect(last().lastError).toBe(last().error);
  });

  it('clears error when the connection opens again and keeps it as lastError (the README snippet renders "open")', async () => {
    function Status() {
      const { state, error } = useConnection(URL_, { WebSocket: WS, protocol: 'plain', json: true, reconnect: { initialDelay: 10, maxDelay: 10 } });
      return h('p', null, state, error && ` (${error.code})`);
    }
    const { container } = render(strict(h(Status)));
    await flush();
    await act(() => lastSocket().serverClose(1006)); // the handshake failed: a 'connect' error
    expect(container.textContent).toBe('reconnecting (connect)');
    await act(() => vi.advanceTimersByTimeAsync(10));
    const s = lastSocket();
    await act(() => s.open());
    expect(container.textContent).toBe('open'); // was 'open (connect)' before error was cleared on open
    await act(() => s.receive('{not json'));
    expect(container.textContent).toBe('open (malformed)');
    await act(() => s.serverClose(1006));
    expect(container.textContent).toBe('reconnecting (malformed)'); // still current while down
    await act(() => vi.advanceTimersByTimeAsync(10));
    await act(() => lastSocket().open());
    expect(container.textContent).toBe('open');
    render(strict(h(Probe, { options: { json: true, reconnect: { initialDelay: 10 } } })));
    const p = await openSocket();
    await act(() => p.receive('{not json'));
    const malformed = last().error;
    await act(() => p.serverClose(1006));
    await act(() => vi.advanceTimersByTimeAsync(10));
    await act(() => lastSocket().open());
    expect(last()).toMatchObject({ state: 'open', error: undefined, lastError: malformed });
  });
});

describe('useConnection: stable functions from the first render', () => {
  /** Calls `run` with the hook's functions in a child's effect: before the parent's connection exists. */
  function Calls({ run, options }: { run: (r: UseConnection) => void; options?: Options }) {
    const r = useConnection(URL_, { WebSocket: WS, protocol: 'plain', ...options });
    seen.push(r);
    return h('p', null, r.state, h(Effect, { r, run }));
  }
  function Effect({ r, run }: { r: UseConnection; run: (r: UseConnection) => void }) {
    useEffect(() => run(r), []);
    return null;
  }

  it('returns the same send, sendWithAck, upload, close and reconnect on every render, before and after the connection exists', async () => {
    render(strict(h(Calls, { run: () => {} })));
    const first = seen[0]!;
    expect(first.connection).toBeUndefined();
    const s = await openSocket();
    await act(() => s.receive('x'));
    expect(seen.length).toBeGreaterThan(2);
    for (const r of seen) {
      for (const k of ['send', 'sendWithAck', 'upload', 'close', 'reconnect'] as const) expect(r[k]).toBe(first[k]);
    }
    await expect(last().sendWithAck('after open')).resolves.toBeUndefined(); // written = done on a plain WebSocket
    expect(s.sent).toEqual(['after open']);
  });

  it('hands sendWithAck and send made before the connection exists over in order; the discarded StrictMode mount\'s call rejects as closed', async () => {
    const results: Promise<unknown>[] = [];
    const outcome = (p: Promise<unknown>) => p.then(() => 'acked', (e: unknown) => e);
    render(strict(h(Calls, { run: (r) => (r.send('a'), results.push(outcome(r.sendWithAck('b'))), r.send('c')) })));
    expect(results).toHaveLength(2); // StrictMode: the child's effect ran twice
    const s = await openSocket();
    expect(s.sent).toEqual(['a', 'b', 'c']);
    const [discarded, kept] = await Promise.all(results);
    expect(discarded).toBeInstanceOf(HeartlineError);
    expect(discarded).toMatchObject({ code: 'closed' });
    expect(kept).toBe('acked');
  });

  it('hands an upload made before the connection exists to the connection (a plain server: rejects as protocol)', async () => {
    let up: Promise<unknown> | undefined;
    render(h(Calls, { run: (r) => void (up = r.upload(new Blob(['x']))) }));
    const caught = up!.catch((e: unknown) => e);
    await openSocket();
    const e = await caught;
    expect(e).toBeInstanceOf(UploadError);
    expect(e).toMatchObject({ reason: 'protocol' });
  });

  it('replays close() and reconnect() made before the connection exists', async () => {
    render(h(Calls, { run: (r) => r.close(4000, 'not now') }));
    await flush();
    expect(last().state).toBe('closed');
    expect(liveSockets()).toEqual([]);
    await act(() => last().reconnect());
    await flush();
    await act(() => lastSocket().open());
    expect(last().state).toBe('open');
    cleanup();
    render(h(Calls, { options: { lazy: true }, run: (r) => r.reconnect() })); // starts a lazy connection
    await flush();
    expect(last().state).toBe('connecting');
    await act(() => lastSocket().open());
    expect(last().state).toBe('open');
  });

  it('rejects an upload still waiting when its mount is discarded (StrictMode) with UploadError closed; the kept mount\'s reaches the connection', async () => {
    const ups: Promise<unknown>[] = [];
    render(strict(h(Calls, { run: (r) => void ups.push(r.upload(new Blob(['y'])).catch((e: unknown) => e)) })));
    await openSocket();
    const [discarded, kept] = await Promise.all(ups);
    expect(discarded).toBeInstanceOf(UploadError);
    expect(discarded).toMatchObject({ code: 'upload', reason: 'closed' });
    expect(kept).toMatchObject({ reason: 'protocol' }); // the plain server's answer: it reached the connection
  });

  it('hands calls made while the connection is being replaced to the new one', async () => {
    function Child({ url, r }: { url: string; r: UseConnection }) {
      useEffect(() => r.send(`to ${url}`), [url]);
      return null;
    }
    function Parent({ url }: { url: string }) {
      const r = useConnection(url, { WebSocket: WS, protocol: 'plain' });
      seen.push(r);
      return h(Child, { url, r });
    }
    const { rerender } = render(h(Parent, { url: 'ws://127.0.0.1:1/a' }));
    const a = await openSocket();
    rerender(h(Parent, { url: 'ws://127.0.0.1:1/b' })); // the child's effect runs after the old connection's cleanup
    const b = await openSocket();
    expect(a.sent).toEqual(['to ws://127.0.0.1:1/a']);
    expect(b.url).toBe('ws://127.0.0.1:1/b');
    expect(b.sent).toEqual(['to ws://127.0.0.1:1/b']);
  });

  it('reports a queued call the connection refuses through reportError, and still hands over the rest', async () => {
    const reported: unknown[] = [];
    const g = globalThis as { reportError?: ((e: unknown) => void) | undefined };
    const saved = g.reportError;
    g.reportError = (e) => void reported.push(e);
    try {
      render(h(Calls, { options: { json: true }, run: (r) => (r.send(1n), r.send({ ok: 1 })) }));
      const s = await openSocket();
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(HeartlineError);
      expect(reported[0]).toMatchObject({ code: 'invalid-option' });
      expect(s.sent).toEqual(['{"ok":1}']);
    } finally {
      g.reportError = saved;
    }
  });
});

describe('useConnectionState', () => {
  it('renders the snapshot of a connection made elsewhere, and re-renders only on changes', async () => {
    const conn: Connection = connect(URL_, { WebSocket: WS, protocol: 'plain' });
    const states: string[] = [];
    function View({ c }: { c: Connection | undefined }) {
      const snap = useConnectionState(c);
      states.push(snap.state);
      return h('p', null, snap.state);
    }
    const { rerender, container } = render(h(View, { c: undefined }));
    expect(container.textContent).toBe('connecting');
    rerender(h(View, { c: conn }));
    await act(() => settle());
    await act(() => lastSocket().open());
    expect(container.textContent).toBe('open');
    expect(states).toEqual(['connecting', 'connecting', 'open']);
    await act(() => conn.close());
    expect(container.textContent).toBe('closed');
  });
});

describe('server rendering and hydration', () => {
  it('renders connecting on the server, hydrates without a mismatch, then connects once', async () => {
    const app = () => strict(h(Probe));
    const html = renderToString(app());
    expect(html).toBe('<p>connecting</p>');
    expect(sockets).toHaveLength(0);
    const el = document.createElement('div');
    el.innerHTML = html;
    document.body.append(el);
    const errors: unknown[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((...a) => void errors.push(a));
    let root: ReturnType<typeof hydrateRoot> | undefined;
    await act(() => {
      root = hydrateRoot(el, app(), { onRecoverableError: (e) => void errors.push(e) });
    });
    expect(errors).toEqual([]);
    error.mockRestore();
    await flush();
    expect(sockets).toHaveLength(1);
    await act(() => lastSocket().open());
    expect(el.textContent).toBe('open');
    act(() => root!.unmount());
    el.remove();
  });
});
