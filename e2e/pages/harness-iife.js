// The IIFE build, loaded by a classic <script src> in harness-iife.html before this module runs
// (module scripts are deferred), exactly as a CDN include exposes it: one global, `Heartline`.
import { runFromLocation } from './harness.js';

runFromLocation(globalThis.Heartline, 'iife');
