// The README snippet pages (esm-snippet.html, react-snippet.html): the bundle built from the
// snippet (a module script that ran before this one) exposes `window.HeartlineSnippet`; the page's
// <html data-build> names the build for the harness.
import { runFromLocation } from './harness.js';

runFromLocation(globalThis.HeartlineSnippet, document.documentElement.dataset.build);
