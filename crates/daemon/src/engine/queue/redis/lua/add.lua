-- ARGV: prefix, now, body, group, priority (0..=1000), run_at ('' for none), after (ids), after_any
-- Answers {'ok', id} or {'invalid', why}; nothing is written on a refusal.
local now, group = tonumber(ARGV[2]), ARGV[4]
if redis.call('HEXISTS', key('groups'), group) == 0 then
  return {'invalid', 'unknown group "' .. group .. '"; create it with `procward queue group add ' .. group .. ' --parallel N`'}
end
for dep in string.gmatch(ARGV[7], '%d+') do
  if redis.call('EXISTS', job_key(dep)) == 0 then
    return {'invalid', 'after: there is no job ' .. dep .. ' (a job can only wait for jobs already queued, so dependencies cannot form a cycle)'}
  end
end
local id = redis.call('INCR', key('next_id'))
local jk = job_key(id)
-- Best first: higher priority, then older (ids grow); exact in a double up to 2^53.
local score = string.format('%.0f', (1000 - tonumber(ARGV[5])) * 4294967296 + id)
redis.call('HSET', jk, 'body', ARGV[3], 'state', 'queued', 'reason', '', 'group', group,
  'score', score, 'after', ARGV[7], 'after_any', ARGV[8], 'attempt', 0, 'created', now)
redis.call('ZADD', key('jobs'), id, id)
if ARGV[6] ~= '' then
  redis.call('HSET', jk, 'state', 'delayed', 'run_at', ARGV[6])
  redis.call('ZADD', key('delayed'), ARGV[6], id)
  publish(id)
else
  publish(id)
  admit(id, now)
end
return done({'ok', id})
