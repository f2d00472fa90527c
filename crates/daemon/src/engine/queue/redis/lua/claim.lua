-- ARGV: prefix, group, host, now, lease_ms, max
-- Takes up to max of the group's best ready jobs while the group (across every host) is
-- under its `parallel` and not paused; each gets a new fencing token and a lease.
-- Answers id, token, body, cancel for each job taken.
local group = ARGV[2]
local raw = redis.call('HGET', key('groups'), group)
if not raw then return {} end
local g = cjson.decode(raw)
if g.paused then return {} end
local free = g.parallel - redis.call('ZCARD', key('running', group))
local out = {}
local expiry = tonumber(ARGV[4]) + tonumber(ARGV[5])
for _ = 1, math.min(free, tonumber(ARGV[6])) do
  local popped = redis.call('ZPOPMIN', key('ready', group))
  if #popped == 0 then break end
  local id = popped[1]
  local token = redis.call('INCR', key('fence'))
  redis.call('HSET', job_key(id), 'host', ARGV[3], 'token', token)
  redis.call('ZADD', key('running', group), expiry, id)
  local h = redis.call('HMGET', job_key(id), 'body', 'cancel')
  out[#out + 1] = id
  out[#out + 1] = token
  out[#out + 1] = h[1]
  out[#out + 1] = h[2] or '0'
end
return out
