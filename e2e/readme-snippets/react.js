// The README's React snippet (`readme:react`, extracted from README.md by
// scripts/readme-snippets.mjs), bundled by the build with React's development build into
// e2e/pages/react-snippet.js. The scenario (e2e/pages/scenarios/readme.js) renders the snippet's
// <Chat room> under StrictMode and drives it through the DOM.
import { StrictMode, createElement, version } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from 'heartline';
import { Chat } from 'readme:react';

window.HeartlineSnippet = {
  connect,
  react: version,
  /** Renders `<StrictMode><Chat room={room} /></StrictMode>` into `el`; returns the root. */
  mount(el, room) {
    const root = createRoot(el);
    root.render(createElement(StrictMode, null, createElement(Chat, { room })));
    return root;
  },
};
