// `heartline/core`: connect() composed of WebSocket and the protocol only (no fallback, no uploads),
// as an app that imports just those parts would build it.
import * as Core from '/dist/core.mjs';
import { runFromLocation } from './harness.js';

runFromLocation({ ...Core, connect: Core.connectWith({ transports: [Core.websocket], protocol: Core.protocol }) }, 'core');
