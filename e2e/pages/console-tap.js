// Records every console.log call (and still logs it) in `window.__console_log`, as arrays of the
// arguments: the README's ESM snippet reports through console.log, and its scenario reads that.
// A module script listed before the snippet's bundle, so it runs first.
const log = [];
const original = console.log.bind(console);
window.__console_log = log;
console.log = (...args) => {
  log.push(args);
  original(...args);
};
