import type { Core } from './kernel.js';
import type { Reason } from './options.js';

/** The longest a probe (wake-up, visibility, online/offline) is waited for (ms). */
const PROBE = 5000;
/** A timer that fires this much later than scheduled means the tab was frozen or the machine slept (ms). */
const LATE = 2000;
/**
 * ms. A connection that proved it works (the protocol handshake, or an inbound frame after open)
 * and lived this long was not a failed attempt: the retry counter resets, whatever `stableAfter`
 * says (a proxy that cuts idle connections after a few seconds must not push delays to maxDelay).
 * An idle connection cut twice after about the same quiet time (at least this long) teaches the
 * heartbeat to ping before that time: 3/4 of it, never less than this.
 */
export const MIN_LIFE = 1000;

/**
 * The heartbeat of the open connection: liveness judged by wall-clock deadlines. It sends a ping
 * (a protocol `ping N`, or the app's `heartbeat.message` over a plain WebSocket) after `interval`
 * of silence and gives the answer `timeout`; without a way to ping it only watches the silence.
 * It owns no timer: it sets the open state's one timer (`k.setTimer`) to `tick`, the core's.
 */
export const createHeartbeat = (k: Core, tick: () => void) => {
  const { hb } = k;
  let last = 0; // last inbound traffic, wall clock
  let pingAt = 0; // when the unanswered ping went out; 0 = none outstanding
  let pongBy = 0;
  let pings = 0;
  let why: Reason = 'heartbeat-timeout'; // what an unanswered ping will be blamed on
  let woke = false; // the last tick was late and turned into a probe
  let proven = false; // the open connection completed the protocol handshake or received a frame
  let cut = 0; // the quiet time (ms) before the last idle connection was cut
  let beat = hb ? hb.interval : 0; // the ping interval in force: lowered by the server's announcement or by idle cuts

  /** Pings go as protocol frames, or as the app's message over a plain WebSocket; otherwise silence is watched. */
  const canPing = (): boolean => !!k.hl || (!!hb!.message && k.name === 'websocket');

  /** Only where canPing(): a protocol frame, or else the app's message over a plain WebSocket. */
  const ping = (ms: number, blame: Reason): void => {
    const m = hb!.message!;
    pingAt = Date.now();
    pongBy = pingAt + ms;
    why = blame;
    k.setTimer(ms, tick);
    if (k.hl) k.current!.control(`ping ${++pings}`);
    else {
      const d = typeof m == 'function' ? k.call(m) : m;
      // A message() that threw sends nothing (the deadline still judges); one that closed or reconnected has no transport to send on.
      if (d != null && k.current) k.current.send(d, 0);
    }
  };

  /** Asks the server for a sign of life now, with a short deadline. */
  const probe = (blame: Reason): void => {
    if (k.state !== 'open' || !hb) return;
    if (canPing()) ping(Math.min(hb.timeout, PROBE), blame);
    else k.setTimer(Math.min(hb.timeout, PROBE), tick); // silence-only: re-judge once in-flight frames are in
  };

  return {
    probe,
    /** Inbound traffic: the quiet clock restarts and a pending ping is answered. */
    alive(): void {
      const now = (last = Date.now());
      if (k.state === 'open') proven = true;
      if (pingAt) {
        const rtt = now - pingAt;
        pingAt = 0;
        k.setTimer(beat, tick); // the next ping is due `interval` after this answer, not at the old deadline
        k.emit('heartbeat', { rtt });
      }
    },
    /** The connection opened (`heartline`: it completed the protocol handshake). */
    opened(heartline: boolean): void {
      proven = heartline;
      last = Date.now();
      pingAt = 0;
    },
    drop: (): void => void (pingAt = 0),
    /** The server's own keep-alive interval (ms): silence longer than it (plus a second) is worth a ping. */
    announce(h: number): void {
      if (h >= MIN_LIFE) beat = Math.min(beat, h + MIN_LIFE); // without a heartbeat `beat` stays 0
    },
    /**
     * The connection is gone: an idle one cut again after about the same quiet time is a proxy's
     * idle timeout, pinged before from now on. True when the open connection proved it works.
     */
    lost(was: boolean, reason: Reason, now: number): boolean {
      const quiet = now - last;
      if (was && reason !== 'heartbeat-timeout' && quiet >= MIN_LIFE && quiet < beat) {
        if (Math.abs(quiet - cut) < cut / 4) beat = Math.max(MIN_LIFE, (quiet * 3) >> 2);
        cut = quiet;
      }
      return proven;
    },
    /** A timer that fired late (a frozen tab, a sleeping machine) turns into a probe; true when it did. */
    late(now: number): boolean {
      const was = woke;
      woke = !!hb && now - k.due! > LATE && !was;
      return woke && (probe('heartbeat-timeout'), true);
    },
    /** Judges the silence at `now`; `up`: ms to the next background check of WebSocket (fallback.ts). */
    judge(now: number, up: number): void {
      if (!hb) return void (up < Infinity && k.setTimer(up, tick));
      if (pingAt) return now < pongBy ? k.setTimer(pongBy - now, tick) : k.lost(why);
      const quiet = now - last;
      const { timeout } = hb;
      if (quiet < beat) k.setTimer(Math.min(up, beat - quiet), tick);
      else if (canPing()) ping(timeout, 'heartbeat-timeout');
      else if (quiet < beat + timeout) k.setTimer(beat + timeout - quiet, tick);
      else k.lost('heartbeat-timeout');
    },
  };
};

export type Heartbeat = ReturnType<typeof createHeartbeat>;
