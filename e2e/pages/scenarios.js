// name → async (Heartline, ctx) => value; throws to fail. Names and options live in catalog.js.
import { cdnSri } from './scenarios/cdn.js';
import { reactStrict } from './scenarios/react.js';
import { esmSnippet, reactSnippet } from './scenarios/readme.js';
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
};
