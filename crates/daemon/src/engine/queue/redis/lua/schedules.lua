-- Schedules: P:schedules (hash name -> Schedule JSON) and P:schedule_next (zset name ->
-- next fire, Unix ms), so the earliest fire is one ZRANGE away.
-- ARGV: prefix, 'add', name, json, next ('' for never)     -> 1, or 0 when the name exists
--       prefix, 'remove', name                              -> the JSON, or false
--       prefix, 'claim', name, at, json, next               -> 1 when this caller fires the
--                      fire due `at` (and the schedule now says `json`), else 0
--       prefix, 'update', name, json                        -> 1 when it still exists
local op, name = ARGV[2], ARGV[3]
local all, nexts = key('schedules'), key('schedule_next')
local function set_next(next_ms)
  if next_ms == '' then redis.call('ZREM', nexts, name) else redis.call('ZADD', nexts, next_ms, name) end
end
if op == 'add' then
  if redis.call('HSETNX', all, name, ARGV[4]) == 0 then return 0 end
  set_next(ARGV[5])
  woke = true
  return done(1)
elseif op == 'remove' then
  local json = redis.call('HGET', all, name)
  redis.call('HDEL', all, name)
  redis.call('ZREM', nexts, name)
  return json
elseif op == 'claim' then
  local score = redis.call('ZSCORE', nexts, name)
  if not score or tonumber(score) ~= tonumber(ARGV[4]) then return 0 end
  redis.call('HSET', all, name, ARGV[5])
  set_next(ARGV[6])
  return 1
end
if redis.call('HEXISTS', all, name) == 0 then return 0 end
redis.call('HSET', all, name, ARGV[4])
return 1
