// `heartline/ws`: the plain reconnecting WebSocket build (no protocol, no other transports).
import * as Heartline from '/dist/ws.mjs';
import { runFromLocation } from './harness.js';

runFromLocation(Heartline, 'ws');
