// Runs the scenario named by `?scenario=NAME&key=K[&timeout=MS]` and publishes the outcome as
// `window.__heartline_result = { ok, value } | { ok: false, error, report }` (and in document.title,
// for drivers that can only read the title). No inline script, no HTML sinks: works under ?csp=1.
import { catalog } from './catalog.js';
import { makeContext } from './context.js';
import { within } from './lib.js';
import { scenarios } from './scenarios.js';

function publish(result) {
  window.__heartline_result = result;
  document.title = `heartline:${result.ok ? 'pass' : 'fail'}`;
  const out = document.getElementById('result');
  if (out) out.textContent = JSON.stringify(result, null, 2);
}

export async function runFromLocation(Heartline, build) {
  window.__heartline_ready = build;
  const query = new URLSearchParams(location.search);
  const name = query.get('scenario') ?? '';
  const key = query.get('key') || `${name}-${build}-${Date.now().toString(36)}`;
  const entry = catalog.find((s) => s.name === name);
  const ctx = makeContext({ key, build });
  try {
    if (!entry || !scenarios[name]) throw new Error(`unknown scenario '${name}'`);
    if (!Heartline || typeof Heartline.connect !== 'function') throw new Error(`the ${build} build exposes no connect()`);
    const limit = Number(query.get('timeout')) || entry.timeout;
    const value = await within(scenarios[name](Heartline, ctx), limit, `scenario '${name}'`);
    publish({ ok: true, value: value ?? null, report: ctx.report() });
  } catch (err) {
    // Firefox and WebKit stacks do not repeat the message: always lead with it.
    const error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    publish({ ok: false, error, report: ctx.report() });
  } finally {
    ctx.cleanup();
  }
}
