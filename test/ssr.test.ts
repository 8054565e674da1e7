// @vitest-environment node
// Server-side rendering with the adapters, in a plain Node environment: importing them and
// rendering touches no browser global and opens nothing; the markup is the documented snapshot.
import { createElement as h } from 'react';
import { renderToString as renderReact } from 'react-dom/server';
import { createSSRApp, h as vh } from 'vue';
import { renderToString as renderVue } from 'vue/server-renderer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeWebSocket, resetSockets, sockets } from './fake-websocket';

// Vue's own renderer looks at `window` once, when it is created (its devtools hook): create it now.
createSSRApp({ render: () => null });

const GLOBALS = ['window', 'document', 'navigator', 'location', 'self', 'addEventListener', 'WebSocket', 'EventSource'];
let touched: string[] = [];

beforeEach(() => {
  resetSockets();
  touched = [];
  expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
  for (const name of GLOBALS) {
    const where = () => (new Error().stack ?? '').split('\n').slice(2, 4).join(' |');
    Object.defineProperty(globalThis, name, { configurable: true, get: () => void touched.push(`${name} ${where()}`) });
  }
});
afterEach(() => {
  for (const name of GLOBALS) delete (globalThis as Record<string, unknown>)[name];
});

const options = { WebSocket: FakeWebSocket as never, json: true };

describe('server-side rendering', () => {
  it('heartline/react: renderToString renders connecting, opens no socket, touches no global', async () => {
    const { useConnection, useConnectionState, useMessage } = await import('../src/react/index');
    function App() {
      const { state, transport, connection, send } = useConnection('ws://127.0.0.1:1/live', options);
      useMessage(connection, () => {});
      const shared = useConnectionState(connection);
      send({ queued: 'on the server' }); // never leaves the hook: no connection exists here
      return h('p', null, `${state} ${transport ?? '-'} ${shared.state} ${connection ? 'has' : 'no'} connection`);
    }
    expect(renderReact(h(App))).toBe('<p>connecting - connecting no connection</p>');
    const lazy = () => h('p', null, useConnection('ws://127.0.0.1:1/live', { ...options, lazy: true }).state);
    expect(renderReact(h(lazy))).toBe('<p>closed</p>');
    expect(sockets).toHaveLength(0);
    expect(touched).toEqual([]);
  });

  it('heartline/vue: renderToString renders connecting, opens no socket, touches no global', async () => {
    const { useConnection, useMessage } = await import('../src/vue/index');
    const app = createSSRApp({
      setup() {
        const { state, connection } = useConnection('ws://127.0.0.1:1/live', options);
        useMessage(connection, () => {});
        return () => vh('p', null, `${state.value} ${connection.value ? 'has' : 'no'} connection`);
      },
    });
    expect(await renderVue(app)).toBe('<p>connecting no connection</p>');
    expect(sockets).toHaveLength(0);
    expect(touched).toEqual([]);
  });
});
