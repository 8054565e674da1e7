// The React app bundle (react-app.js, a module script that ran before this one) exposes itself as
// `window.HeartlineReactApp`; the scenario mounts it and drives it through the DOM.
import { runFromLocation } from './harness.js';

runFromLocation(globalThis.HeartlineReactApp, 'react');
