// Short polling: long-polling against a host that cannot hold a request (the fixture with
// `hold=0` answers every poll at once), paced by the client's `pollInterval`.
import { assert, within } from '../lib.js';

const INTERVAL = 300;
const IDLE = 2400;

/** Messages flow both ways, and an idle connection polls about once per `pollInterval`, not in a loop. */
export async function protoShortpoll(H, ctx) {
  const polls = [];
  // Counts the polls (GETs); POSTs are the send channel. Same-origin fetch, called unbound.
  const counting = (url, init) => {
    if (!init || init.method !== 'POST') polls.push(performance.now());
    return fetch(url, init);
  };
  const rec = ctx.connect(H, ctx.hlUrl({ hold: 0 }), {
    transports: ['longpoll'],
    pollInterval: INTERVAL,
    fetch: counting,
    heartbeat: { interval: 2000, timeout: 2000 },
    reconnect: { initialDelay: 50, maxDelay: 300 },
  });
  await rec.wait('open', { timeout: 5000 });
  // Up: acknowledged over POST. Down: the server echoes each delivered message into its log.
  const since = rec.mark();
  await within(rec.conn.sendWithAck('up 1'), 5000, 'sendWithAck(up 1)');
  rec.conn.send('up 2');
  const [m1, m2] = await rec.waitCount('message', 2, { since, timeout: 5000 });
  assert(m1.args[0] === 'up 1' && m2.args[0] === 'up 2', `echoed ${JSON.stringify([m1.args[0], m2.args[0]])}`);
  // Idle: the only traffic is the polls (and the heartbeat's ping POSTs).
  const from = polls.length;
  await ctx.quietFor(IDLE);
  const idle = polls.length - from;
  assert(idle >= 3, `only ${idle} polls in ${IDLE} ms idle: the client stopped polling`);
  assert(idle <= IDLE / INTERVAL + 2, `${idle} polls in ${IDLE} ms idle at pollInterval ${INTERVAL}`);
  // An event published while idle arrives with a later poll.
  const pub = rec.mark();
  const { id } = await ctx.control('publish', { data: 'down' });
  const got = await rec.wait('message', { since: pub, where: (d) => d === 'down', timeout: 5000 });
  assert(got.args[1].id === String(id) && got.args[1].transport === 'longpoll', `meta ${JSON.stringify(got.args[1])}`);
  assert(rec.events('close').length === 0 && rec.events('error').length === 0, 'no close or error');
  const stats = await ctx.stats();
  assert(JSON.stringify(stats.delivered) === JSON.stringify(['up 1', 'up 2']), `delivered ${JSON.stringify(stats.delivered)}`);
  return { idlePolls: idle, totalPolls: polls.length };
}
