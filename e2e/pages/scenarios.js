// name → async (Heartline, ctx) => value; throws to fail. Names and options live in catalog.js.
import { PROTOCOL_TRANSPORTS } from './catalog.js';
import { cdnSri } from './scenarios/cdn.js';
import {
  protoBlackhole,
  protoChaos,
  protoClose,
  protoEcho,
  protoFallbackBuffer,
  protoFallbackWs403,
  protoUpgrade,
  protoPlainWs,
  protoResume,
  protoSend,
} from './scenarios/protocol.js';
import { protoShortpoll } from './scenarios/shortpoll.js';
import { uploadLongpoll, uploadSse, uploadWebsocket } from './scenarios/upload.js';
import { reactStrict } from './scenarios/react.js';
import { esmSnippet, reactSnippet } from './scenarios/readme.js';
import { demoFallback } from './scenarios/demo.js';
import { csp, echo, echoBinary, echoJson, malformedFrame, malformedJson, oversized, stream } from './scenarios/basic.js';
import {
  blackhole,
  burstHeartbeat,
  heartbeatCadence,
  offlineOnline,
  queueOrder,
  wakeProbe,
} from './scenarios/liveness.js';
import {
  close1013,
  closeStops,
  destroyReconnect,
  dropReconnect,
  flakyUpgrade,
  refusedUpgrade,
  restart,
} from './scenarios/reconnect.js';

export const scenarios = {
  echo,
  'echo-json': echoJson,
  'echo-binary': echoBinary,
  stream,
  'drop-reconnect': dropReconnect,
  'destroy-reconnect': destroyReconnect,
  blackhole,
  restart,
  'close-stops': closeStops,
  'close-1013': close1013,
  'offline-online': offlineOnline,
  'queue-order': queueOrder,
  'burst-heartbeat': burstHeartbeat,
  csp,
  'wake-probe': wakeProbe,
  'heartbeat-cadence': heartbeatCadence,
  'refused-upgrade': refusedUpgrade,
  'flaky-upgrade': flakyUpgrade,
  'malformed-json': malformedJson,
  'malformed-frame': malformedFrame,
  oversized,
  'react-strict': reactStrict,
  'cdn-sri': cdnSri,
  'readme-esm': esmSnippet,
  'readme-react': reactSnippet,
  'proto-fallback-ws403': protoFallbackWs403,
  'proto-fallback-buffer': protoFallbackBuffer,
  'proto-upgrade': protoUpgrade,
  'upload-websocket': uploadWebsocket,
  'upload-sse': uploadSse,
  'upload-longpoll': uploadLongpoll,
  'proto-plain-ws': protoPlainWs,
  'proto-shortpoll': protoShortpoll,
  'demo-fallback': demoFallback,
};

// The same behavioural scenarios over every transport.
const PER_TRANSPORT = { echo: protoEcho, close: protoClose, blackhole: protoBlackhole, resume: protoResume, send: protoSend, chaos: protoChaos };
for (const t of PROTOCOL_TRANSPORTS) {
  for (const [name, run] of Object.entries(PER_TRANSPORT)) scenarios[`proto-${name}-${t}`] = (H, ctx) => run(H, ctx, t);
}
