// Loaded before any library: wraps setTimeout/setInterval so every timer callback that runs in this
// page (a "wake-up") is counted. The bench's own timers use the saved originals and are not counted.
(() => {
  const st = globalThis.setTimeout;
  const si = globalThis.setInterval;
  const counts = { timeout: 0, interval: 0 };
  const wrap = (f, key) =>
    typeof f === 'function'
      ? function (...args) {
          counts[key]++;
          return f.apply(this, args);
        }
      : f;
  globalThis.setTimeout = function (f, ms, ...rest) {
    return st(wrap(f, 'timeout'), ms, ...rest);
  };
  globalThis.setInterval = function (f, ms, ...rest) {
    return si(wrap(f, 'interval'), ms, ...rest);
  };
  globalThis.__bench = { counts, setTimeout: st.bind(globalThis), setInterval: si.bind(globalThis) };
})();
