-- ARGV: prefix, id, token, body, state, reason, run_at, code, now, keep_completed
-- An attempt ended (or a lease was taken over): with the job's token, frees its slot
-- and moves it on; a cancel asked meanwhile wins. Answers {0} when the token is no
-- longer the job's (nothing written), else {1, ids removed by keep_completed...}.
local id, now = ARGV[2], tonumber(ARGV[9])
local jk = job_key(id)
local h = redis.call('HMGET', jk, 'token', 'group', 'cancel')
if h[1] ~= ARGV[3] or not redis.call('ZSCORE', key('running', h[2]), id) then return {0} end
redis.call('ZREM', key('running', h[2]), id)
woke = true
redis.call('HSET', jk, 'body', ARGV[4], 'code', ARGV[8], 'token', '')
local state, reason = ARGV[5], ARGV[6]
if h[3] == '1' then state, reason = 'cancelled', 'cancelled' end
if state == 'delayed' then
  redis.call('HSET', jk, 'state', 'delayed', 'reason', reason, 'run_at', ARGV[7])
  redis.call('ZADD', key('delayed'), ARGV[7], id)
  publish(id)
elseif state == 'queued' then
  redis.call('HSET', jk, 'state', 'queued', 'reason', reason)
  publish(id)
  admit(id, now)
else
  settle(id, state, reason, now)
end
local out = {1}
local excess = redis.call('ZCARD', key('completed')) - tonumber(ARGV[10])
if excess > 0 then
  local old = redis.call('ZRANGE', key('completed'), 0, excess - 1)
  for _, removed in ipairs(forget(old)) do out[#out + 1] = removed end
end
return done(out)
