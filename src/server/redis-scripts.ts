/**
 * The Lua scripts of the Redis engine: each runs atomically in Redis, so a check and the write it
 * guards are one step even with several server processes.
 * @module
 */

/**
 * Append. KEYS: epoch, counter, the stream. ARGV: a new epoch (used if Redis has none: it lost its
 * data or never had any), the payload, MAXLEN, max age (ms), the bus channel. The event number is
 * max(now_ms * 1024, previous + 1): ordered across processes, never backwards, and it doubles as the
 * Redis stream id (`N-0`), so MINID trims by age. Returns {epoch, N, time}.
 */
export const APPEND = `
local ep = redis.call('GET', KEYS[1])
if not ep then ep = ARGV[1]; redis.call('SET', KEYS[1], ep) end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = math.max(ms * 1024, tonumber(redis.call('GET', KEYS[2]) or '0') + 1)
local id = string.format('%d', n)
redis.call('SET', KEYS[2], id)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], id .. '-0', 'p', ARGV[2], 't', ms)
local cutoff = (ms - tonumber(ARGV[4])) * 1024
if cutoff > 0 then redis.call('XTRIM', KEYS[3], 'MINID', '~', string.format('%d', cutoff) .. '-0') end
redis.call('PUBLISH', ARGV[5], 'e ' .. ep .. ' ' .. id .. ' ' .. ms .. ' ' .. ARGV[2])
return {ep, id, ms}
`;

/**
 * Replay. KEYS: epoch, counter, the streams to read. ARGV: epoch, N (after), COUNT. Returns
 * {0, head} when the log cannot resume from N (another epoch, beyond the end, or a stream trimmed
 * past N), else {1, head, id, payload, time, id, payload, time, ...} per stream, each in order;
 * head is the newest id (EPOCH-N).
 */
export const SINCE = `
local ep = redis.call('GET', KEYS[1])
local head = (ep or '') .. '-' .. (redis.call('GET', KEYS[2]) or '0')
if ep ~= ARGV[1] then return {0, head} end
local after = tonumber(ARGV[2])
if after > tonumber(redis.call('GET', KEYS[2]) or '0') then return {0, head} end
local out = {1, head}
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[i])
    for j = 1, #info, 2 do
      if info[j] == 'max-deleted-entry-id' and tonumber(string.match(info[j + 1], '^(%d+)')) > after then return {0, head} end
    end
    for _, e in ipairs(redis.call('XRANGE', KEYS[i], '(' .. ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])) do
      out[#out + 1] = string.match(e[1], '^(%d+)'); out[#out + 1] = e[2][2]; out[#out + 1] = e[2][4]
    end
  end
end
return out
`;

/** A session record's fields and its `seen`. KEYS: record, seen set. ARGV: id. */
export const GET = `
local r = redis.call('HMGET', KEYS[1], 'last', 'streams', 'user', 'from')
if not r[1] then return false end
return {r[1], r[2], r[3], redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0', r[4] or ''}
`;

/** Create or replace a record; `last` never goes down. KEYS: record, seen set. ARGV: id, last, streams, user, seen, from. */
export const SET = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local last = ARGV[2]
if cur > tonumber(last) then last = string.format('%d', cur) end
redis.call('HSET', KEYS[1], 'last', last, 'streams', ARGV[3], 'user', ARGV[4], 'from', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1
`;

/**
 * Before delivering message SEQ. KEYS: record, lease. ARGV: SEQ, token, lease ms.
 * Returns {last, 0} (not the next message), {last, 1} (lease taken) or {last, 2} (another holds it).
 */
export const BEGIN = `
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if tonumber(ARGV[1]) ~= last + 1 then return {last, 0} end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {last, 1} end
return {last, 2}
`;

/** After the hook: last = SEQ if the lease is still ours. KEYS: record, lease. ARGV: token, SEQ. Returns last. */
export const COMMIT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  if tonumber(ARGV[2]) > cur and redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HSET', KEYS[1], 'last', ARGV[2]); cur = tonumber(ARGV[2])
  end
end
return cur
`;

/** Ends a lease if it is ours (also the upload lease). KEYS: lease. ARGV: token. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Number a session's new link and announce it. KEYS: counter. ARGV: channel, session id. */
export const LINK = `
local gen = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 86400000)
redis.call('PUBLISH', ARGV[1], 's ' .. ARGV[2] .. ' {"type":"link","gen":' .. gen .. '}')
return gen
`;
