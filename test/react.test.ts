import { StrictMode, createElement as h, useEffect } from 'react';
import type { ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { hydrateRoot } from 'react-dom/client';
import { act, cleanup, render } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/index';
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
