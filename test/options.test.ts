import { describe, expect, it } from 'vitest';
import { HeartlineError, OptionError, connect, isHeartlineError } from '../src/index';
import type { Options } from '../src/index';
import { FakeWebSocket } from './fake-websocket';

const attempt = (o: Record<string, unknown>) => () =>
  connect('ws://127.0.0.1/x', { WebSocket: FakeWebSocket as never, lazy: true, ...(o as Options) });

describe('option validation', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a negative initialDelay', { reconnect: { initialDelay: -1 } }, /reconnect\.initialDelay must be a number in \[0, /],
    ['maxDelay below initialDelay', { reconnect: { initialDelay: 1000, maxDelay: 10 } }, /reconnect\.maxDelay must be a number in \[1000, /],
    // Both 0 would be a reconnect loop with no wait at all (issue 16): a retry waits up to 1 ms at least.
    ['a zero maxDelay (with initialDelay 0)', { reconnect: { initialDelay: 0, maxDelay: 0 } }, /reconnect\.maxDelay must be a number in \[1, /],
    ['jitter above 1', { reconnect: { jitter: 2 } }, /reconnect\.jitter must be a number in \[0, 1\]/],
    ['a factor below 1', { reconnect: { factor: 0.5 } }, /reconnect\.factor/],
    ['a NaN stableAfter', { reconnect: { stableAfter: NaN } }, /reconnect\.stableAfter/],
    ['a non-function shouldReconnect', { reconnect: { shouldReconnect: 'yes' } }, /reconnect\.shouldReconnect must be a function/],
    ['a zero heartbeat interval', { heartbeat: { interval: 0 } }, /heartbeat\.interval must be a number in \[1, /],
    ['a timer-overflowing heartbeat timeout', { heartbeat: { timeout: 2 ** 40 } }, /heartbeat\.timeout/],
    ['a non-function isPong', { heartbeat: { isPong: 1 } }, /heartbeat\.isPong must be a function/],
    ['a non-function auth', { auth: 'token' }, /auth must be a function/],
    ['an unknown transport name', { transports: ['websocket', 'carrier-pigeon'] }, /transports\[\] must be one of websocket, sse, longpoll/],
    ['an empty transports list', { transports: [] }, /transports must be a non-empty array/],
    ['an unknown protocol mode', { protocol: 'binary' }, /protocol must be one of auto, plain/],
    ['a zero maxEventSize', { maxEventSize: 0 }, /maxEventSize must be a number in \[1, Infinity\]/],
    ['a non-function fetch', { fetch: 'fetch' }, /fetch must be a function/],
    ['an unknown overflow policy', { queue: { overflow: 'explode' } }, /queue\.overflow must be one of drop-oldest, drop-newest, error/],
    ['a negative queue limit', { queue: { limit: -1 } }, /queue\.limit/],
    ['an unknown whenHidden', { whenHidden: 'sleep' }, /whenHidden must be one of keep, close/],
    ['an unknown binaryType', { binaryType: 'text' }, /binaryType must be one of arraybuffer, blob/],
    ['a non-function WebSocket', { WebSocket: {} }, /WebSocket must be a function/],
  ];
  for (const [what, options, message] of cases) {
    it(`rejects ${what} with an OptionError naming the option and its range`, () => {
      expect(attempt(options)).toThrow(message);
      try {
        attempt(options)();
      } catch (e) {
        expect(e).toBeInstanceOf(OptionError);
        expect(e).toBeInstanceOf(HeartlineError);
        expect((e as HeartlineError).code).toBe('invalid-option');
        expect(isHeartlineError(e)).toBe(true);
      }
    });
  }

  it('accepts the documented defaults and the off switches', () => {
    expect(attempt({})).not.toThrow();
    expect(attempt({ heartbeat: false, reconnect: false, queue: { limit: 0, overflow: 'error' } })).not.toThrow();
  });

  it('recognises a heartline error from another realm by its name', () => {
    const foreign = Object.assign(new Error('x'), { name: 'HeartlineError', code: 'closed' });
    expect(isHeartlineError(foreign)).toBe(true);
    expect(isHeartlineError(new Error('x'))).toBe(false);
  });
});
