// A small chat app written the way a React user would: StrictMode, inline options and inline
// handlers re-created on every render. Bundled by the build (rollup.config.mjs) with React's
// development build — StrictMode's double mount only exists there — against the built dist/
// files, into e2e/pages/react-app.js; e2e/pages/scenarios/react.js drives it through the DOM.
import { StrictMode, useEffect, useRef, useState, version } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from 'heartline';
import { useConnection, useMessage } from 'heartline/react';

/** Runs of App's mount effect: 2 under StrictMode, the page's proof that StrictMode is on. */
let appMountEffects = 0;

function Chat({ url }: { url: string }) {
  const [log, setLog] = useState<string[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const { state, transport, error, send, connection } = useConnection(url, {
    json: true,
    reconnect: { initialDelay: 100, maxDelay: 500 },
    heartbeat: { interval: 5000, timeout: 3000, message: 'ping', isPong: (d) => d === 'ping' },
  });
  useMessage(connection, (msg: { text: string }) => setLog((lines) => [...lines, msg.text]));
  return (
    <section>
      <p>
        <output data-testid="state">{state}</output> over <output data-testid="transport">{transport ?? '-'}</output>
        {error && <output data-testid="error"> ({error.code})</output>}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          send({ text: input.current?.value ?? '' });
        }}
      >
        <input ref={input} name="text" defaultValue="hello" />
        <button data-testid="send">Send</button>
      </form>
      <ul data-testid="log">
        {log.map((text, i) => (
          <li key={i}>{text}</li>
        ))}
      </ul>
    </section>
  );
}

function App({ base }: { base: string }) {
  const [room, setRoom] = useState('lobby');
  const [renders, setRenders] = useState(0);
  const [joined, setJoined] = useState(true);
  useEffect(() => void appMountEffects++, []);
  return (
    <main>
      <button data-testid="rerender" onClick={() => setRenders((n) => n + 1)}>
        Re-render (<output data-testid="renders">{renders}</output>)
      </button>
      <button data-testid="switch" onClick={() => setRoom((r) => (r === 'lobby' ? 'kitchen' : 'lobby'))}>
        Switch room (<output data-testid="room">{room}</output>)
      </button>
      <button data-testid="toggle" onClick={() => setJoined((j) => !j)}>
        {joined ? 'Leave' : 'Join'}
      </button>
      {joined && <Chat url={`${base}&room=${room}`} />}
    </main>
  );
}

declare global {
  interface Window {
    HeartlineReactApp?: unknown;
  }
}

/** What e2e/pages/harness-react.js hands to the scenario (the harness also wants `connect`). */
window.HeartlineReactApp = {
  connect,
  react: version,
  /** Renders the app under StrictMode into `el`; `base` is the WebSocket URL with the test's key. */
  mount(el: Element, base: string) {
    const root = createRoot(el);
    root.render(
      <StrictMode>
        <App base={base} />
      </StrictMode>,
    );
    return { unmount: () => root.unmount(), mountEffects: () => appMountEffects };
  },
};
