/**
 * A scripted WebSocket: the test decides when it opens, what arrives and how it ends, and can
 * count which sockets still have handlers attached. It never fires events by itself.
 */
export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  readonly sent: unknown[] = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    sockets.push(this);
  }
  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error('fake: send while not open');
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
  // --- the test's side ---
  open(): void {
    this.readyState = 1;
    this.onopen?.({ type: 'open' });
  }
  receive(data: unknown): void {
    this.onmessage?.({ data });
  }
  serverClose(code = 1000, reason = '', wasClean = code !== 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean });
  }
  get attached(): boolean {
    return !!(this.onopen || this.onmessage || this.onclose);
  }
}

export let sockets: FakeWebSocket[] = [];
export const resetSockets = (): void => {
  sockets = [];
};
export const lastSocket = (): FakeWebSocket => {
  const s = sockets[sockets.length - 1];
  if (!s) throw new Error('no socket was created');
  return s;
};
/** Sockets that could still deliver events: at most one may exist per connection. */
export const liveSockets = (): FakeWebSocket[] => sockets.filter((s) => s.attached && s.readyState < 2);
