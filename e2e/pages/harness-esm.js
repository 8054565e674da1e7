// The ESM build, imported the way an SPA would.
import * as Heartline from '/dist/heartline.mjs';
import { runFromLocation } from './harness.js';

runFromLocation(Heartline, 'esm');
