import { createApp, createSSRApp, defineComponent, effectScope, h, nextTick, ref } from 'vue';
import type { Ref } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartlineError, UploadError } from '../src/index';
import type { Options } from '../src/index';
import { useConnection, useMessage } from '../src/vue/index';
import type { UseConnection } from '../src/vue/index';
import { FakeWebSocket, lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import { URL_, settle } from './helpers';

const WS = FakeWebSocket as never;
// Vue's renderer sets a timer of its own (devtools) when it is first created: create it before the fake timers.
createApp({ render: () => null });
let result: UseConnection;
let got: unknown[];

/** A component over the composable; `url` and `options` are handed through as given (refs or getters allowed). */
const Chat = (url: Parameters<typeof useConnection>[0], options: Parameters<typeof useConnection>[1], setup?: (r: UseConnection) => void) =>
  defineComponent({
    setup() {
      result = useConnection(url, options);
      useMessage(result.connection, (d) => void got.push(d));
      setup?.(result);
      return () => h('p', result.state.value);
    },
  });

const mount = (component: ReturnType<typeof defineComponent>) => {
  const el = document.createElement('div');
  const app = createApp(component);
  app.mount(el);
  return { el, unmount: () => app.unmount() };
};

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
  got = [];
});
afterEach(() => {
  expect(liveSockets()).toEqual([]);
  vi.useRealTimers();
});

describe('heartline/vue useConnection', () => {
  it('connects once when mounted, keeps the refs current and closes on unmount', async () => {
    const { el, unmount } = mount(Chat(URL_, { WebSocket: WS, protocol: 'plain', heartbeat: { interval: 1000, timeout: 1000 } }));
    expect(el.textContent).toBe('connecting');
    await settle();
    expect(sockets).toHaveLength(1);
    lastSocket().open();
    await nextTick();
    expect(el.textContent).toBe('open');
    expect(result.transport.value).toBe('websocket');
    expect(result.snapshot.value).toMatchObject({ state: 'open', lastEventId: '', error: undefined });
    lastSocket().receive('hello');
    expect(got).toEqual(['hello']);
    const s = lastSocket();
    unmount();
    expect(s.closedWith).toEqual([1000, '']);
    expect(result.connection.value?.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands over data sent during setup, once, in order, after open', async () => {
    const { unmount } = mount(Chat(URL_, { WebSocket: WS, protocol: 'plain', json: true }, (r) => (r.send({ n: 1 }), r.send({ n: 2 }))));
    await settle();
    lastSocket().open();
    expect(lastSocket().sent).toEqual(['{"n":1}', '{"n":2}']);
    unmount();
  });

  it('clears error when the connection opens again and keeps lastError', async () => {
    const { el, unmount } = mount(
      defineComponent({
        setup() {
          result = useConnection(URL_, { WebSocket: WS, protocol: 'plain', json: true, reconnect: { initialDelay: 10 } });
          return () => h('p', `${result.state.value}${result.error.value ? ` (${result.error.value.code})` : ''}`);
        },
      }),
    );
    await settle();
    const s = lastSocket();
    s.open();
    s.receive('{not json');
    await nextTick();
    expect(el.textContent).toBe('open (malformed)');
    const malformed = result.error.value;
    expect(malformed).toBeInstanceOf(HeartlineError);
    expect(result.lastError.value).toBe(malformed);
    s.serverClose(1006);
    await vi.advanceTimersByTimeAsync(10);
    lastSocket().open();
    await nextTick();
    expect(el.textContent).toBe('open');
    expect(result.error.value).toBeUndefined();
    expect(result.lastError.value).toBe(malformed);
    expect(result.snapshot.value).toMatchObject({ error: undefined, lastError: malformed });
    unmount();
  });

  it('sendWithAck, upload, close and reconnect work from setup, before the connection exists, in call order', async () => {
    const outcomes: Promise<unknown>[] = [];
    const { unmount } = mount(
      Chat(URL_, { WebSocket: WS, protocol: 'plain' }, (r) => {
        expect(r.connection.value).toBeUndefined();
        r.send('a');
        outcomes.push(r.sendWithAck('b').then(() => 'acked'));
        outcomes.push(r.upload(new Blob(['x'])).catch((e: unknown) => e));
      }),
    );
    await settle();
    lastSocket().open();
    expect(lastSocket().sent).toEqual(['a', 'b']);
    const [acked, up] = await Promise.all(outcomes);
    expect(acked).toBe('acked');
    expect(up).toBeInstanceOf(UploadError);
    expect(up).toMatchObject({ reason: 'protocol' }); // the plain server's answer: it reached the connection
    unmount();

    const closed = mount(Chat(URL_, { WebSocket: WS, protocol: 'plain' }, (r) => r.close()));
    await settle();
    expect(result.state.value).toBe('closed');
    expect(liveSockets()).toEqual([]);
    result.reconnect();
    await settle();
    lastSocket().open();
    expect(result.state.value).toBe('open');
    closed.unmount();
  });

  it('replaces the connection when a reactive URL or option changes by content, not by identity', async () => {
    const url = ref('ws://127.0.0.1:1/a');
    const options: Ref<Options> = ref({ WebSocket: WS, protocol: 'plain', json: true });
    const { el, unmount } = mount(Chat(url, options));
    await settle();
    const a = lastSocket();
    a.open();
    options.value = { json: true, protocol: 'plain', WebSocket: WS }; // same content, new object
    await settle();
    expect(sockets).toHaveLength(1);
    url.value = 'ws://127.0.0.1:1/b';
    await settle();
    expect(a.closedWith).toEqual([1000, '']);
    expect(sockets.map((s) => s.url)).toEqual(['ws://127.0.0.1:1/a', 'ws://127.0.0.1:1/b']);
    await nextTick();
    expect(el.textContent).toBe('connecting');
    lastSocket().open();
    lastSocket().receive('"from b"');
    expect(got).toEqual(['from b']); // useMessage followed the new connection
    options.value = { WebSocket: WS, protocol: 'plain', json: true, protocols: ['v2'] };
    await settle();
    expect(sockets).toHaveLength(3);
    expect(lastSocket().protocols).toEqual(['v2']);
    unmount();
  });

  it('with lazy: closed and no socket until the first send', async () => {
    const { el, unmount } = mount(
      defineComponent({
        setup() {
          result = useConnection(URL_, { WebSocket: WS, protocol: 'plain', lazy: true });
          return () => h('p', result.state.value);
        },
      }),
    );
    await settle();
    expect(el.textContent).toBe('closed');
    expect(sockets).toHaveLength(0);
    result.send('hi');
    await settle();
    lastSocket().open();
    expect(lastSocket().sent).toEqual(['hi']);
    unmount();
  });

  it('works in a bare effectScope: connects at once, closes when the scope stops', async () => {
    const scope = effectScope();
    const r = scope.run(() => useConnection(URL_, { WebSocket: WS, protocol: 'plain' }))!;
    await settle();
    expect(sockets).toHaveLength(1);
    lastSocket().open();
    expect(r.state.value).toBe('open');
    scope.stop();
    expect(lastSocket().closedWith).toEqual([1000, '']);
    expect(r.state.value).toBe('open'); // the refs stop following once the scope is gone
  });

  it('hydrates server-rendered markup without a mismatch, then connects once', async () => {
    const App = Chat(URL_, { WebSocket: WS, protocol: 'plain' });
    const html = await renderToString(createSSRApp(App));
    expect(html).toBe('<p>connecting</p>');
    expect(sockets).toHaveLength(0);
    const el = document.createElement('div');
    el.innerHTML = html;
    const warn = vi.spyOn(console, 'warn');
    const error = vi.spyOn(console, 'error');
    const app = createSSRApp(App);
    app.mount(el);
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
    await settle();
    expect(sockets).toHaveLength(1);
    lastSocket().open();
    await nextTick();
    expect(el.textContent).toBe('open');
    app.unmount();
  });
});
