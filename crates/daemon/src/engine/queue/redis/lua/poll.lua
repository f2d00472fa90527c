-- ARGV: prefix, now
-- Queues the delayed jobs whose time came; answers when the next one is due ('' for
-- none), when the next schedule fires ('' for none) and the groups where a job could
-- start now.
local now = tonumber(ARGV[2])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', key('delayed'), '-inf', now, 'LIMIT', 0, 500)) do
  redis.call('ZREM', key('delayed'), id)
  if redis.call('HGET', job_key(id), 'state') == 'delayed' then
    redis.call('HSET', job_key(id), 'state', 'queued')
    redis.call('HDEL', job_key(id), 'run_at')
    publish(id)
    admit(id, now)
  end
end
local next_due = redis.call('ZRANGE', key('delayed'), 0, 0, 'WITHSCORES')
local next_fire = redis.call('ZRANGE', key('schedule_next'), 0, 0, 'WITHSCORES')
local out = {next_due[2] or '', next_fire[2] or ''}
local groups = redis.call('HGETALL', key('groups'))
for i = 1, #groups, 2 do
  local g = cjson.decode(groups[i + 1])
  if not g.paused and redis.call('ZCARD', key('ready', groups[i])) > 0
     and redis.call('ZCARD', key('running', groups[i])) < g.parallel then
    out[#out + 1] = groups[i]
  end
end
return done(out)
