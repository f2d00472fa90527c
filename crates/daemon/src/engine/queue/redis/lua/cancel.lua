-- ARGV: prefix, id, now
-- Answers {'done'} (a waiting job, now cancelled), {'running', host} (its host was told
-- on its control channel, and its lease renewals say so too), {'final', state} or
-- {'missing'}.
local id = ARGV[2]
local h = redis.call('HMGET', job_key(id), 'state', 'group', 'host')
if not h[1] then return {'missing'} end
if redis.call('ZSCORE', key('running', h[2]), id) then
  redis.call('HSET', job_key(id), 'cancel', '1')
  redis.call('PUBLISH', key('control', h[3]), id)
  return {'running', h[3]}
end
if h[1] == 'queued' or h[1] == 'delayed' then
  settle(id, 'cancelled', 'cancelled', tonumber(ARGV[3]))
  return done({'done'})
end
return {'final', h[1]}
