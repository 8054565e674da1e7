// A minimal W3C WebDriver client over fetch, for WebKitWebDriver (no webdriverio needed). Every
// request carries a client timeout: without a display, POST /session never answers.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free loopback port: listen on 0, read it, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export class WebDriverError extends Error {}

async function call(base, method, path, body, timeoutMs) {
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new WebDriverError(`${method} ${path}: ${err.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : err.message}`);
  }
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const { error, message } = json.value ?? {};
    throw new WebDriverError(`${method} ${path}: HTTP ${res.status} ${error ?? ''} ${message ?? ''}`.trim());
  }
  return json.value;
}

/** Start `binary --port=P` and wait (bounded) until GET /status says ready. */
export async function startDriver(binary, { readyTimeout = 10000 } = {}) {
  const port = await freePort();
  const child = spawn(binary, [`--port=${port}`, '--host=127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeout;
  for (;;) {
    const status = await call(base, 'GET', '/status', undefined, 1000).catch(() => null);
    if (status?.ready) break;
    if (child.exitCode !== null) throw new WebDriverError(`${binary} exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new WebDriverError(`${binary} not ready within ${readyTimeout} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // no event to wait for: poll /status
  }
  return {
    base,
    pid: child.pid,
    /** SIGTERM this driver (by its PID), SIGKILL if it is still there after `graceMs`. */
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function newSession(base, capabilities, timeoutMs = 30000) {
  const value = await call(base, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } }, timeoutMs);
  const id = value.sessionId;
  const at = (path) => `/session/${id}${path}`;
  return {
    id,
    navigate: (url, ms = 15000) => call(base, 'POST', at('/url'), { url }, ms),
    execute: (script, args = [], ms = 5000) => call(base, 'POST', at('/execute/sync'), { script, args }, ms),
    close: (ms = 10000) => call(base, 'DELETE', at(''), undefined, ms),
    /** Element Send Keys on a file input: the paths, one per line, become its files. */
    async pickFiles(selector, paths, ms = 15000) {
      const el = await call(base, 'POST', at('/element'), { using: 'css selector', value: selector }, ms);
      const ref = el['element-6066-11e4-a52e-4f735466cecb'] ?? el.ELEMENT ?? Object.values(el ?? {})[0];
      if (!ref) throw new WebDriverError(`no element for ${selector}: ${JSON.stringify(el)}`);
      await call(base, 'POST', at(`/element/${ref}/value`), { text: paths.join('\n') }, ms);
    },
  };
}
