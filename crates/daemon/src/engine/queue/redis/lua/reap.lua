-- ARGV: prefix, host, now, lease_ms
-- Takes over the jobs whose lease expired (their host died, paused or lost Redis): each
-- gets a new fencing token held by `host`, so the old host's report is refused, and
-- `host` moves it on (retry or fail per its attempts). Answers id, token, old host,
-- body, state for each.
local now = tonumber(ARGV[3])
local out = {}
for _, group in ipairs(redis.call('HKEYS', key('groups'))) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', key('running', group), '-inf', now, 'LIMIT', 0, 100)) do
    local token = redis.call('INCR', key('fence'))
    local h = redis.call('HMGET', job_key(id), 'host', 'body', 'state')
    redis.call('HSET', job_key(id), 'host', ARGV[2], 'token', token)
    redis.call('ZADD', key('running', group), now + tonumber(ARGV[4]), id)
    out[#out + 1] = id
    out[#out + 1] = token
    out[#out + 1] = h[1] or ''
    out[#out + 1] = h[2]
    out[#out + 1] = h[3]
  end
end
return out
