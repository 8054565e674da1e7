// The README's ESM usage snippet (`readme:esm`, extracted from README.md by
// scripts/readme-snippets.mjs), bundled by the build into e2e/pages/esm-snippet.js. The snippet runs
// as written when this bundle loads; its console.log output is what e2e/pages/scenarios/readme.js
// checks (e2e/pages/console-tap.js records it). The harness also wants `connect`.
import { connect } from 'heartline';
import 'readme:esm';

window.HeartlineSnippet = { connect };
