-- ARGV: prefix, id, body, now
-- Queues a failed or cancelled job again. Answers {'ok'}, {'state', state} or {'missing'}.
local id = ARGV[2]
local jk = job_key(id)
local state = redis.call('HGET', jk, 'state')
if not state then return {'missing'} end
if state ~= 'failed' and state ~= 'cancelled' then return {'state', state} end
redis.call('HSET', jk, 'body', ARGV[3], 'state', 'queued', 'reason', 'retried', 'cancel', '0', 'code', '')
redis.call('HDEL', jk, 'run_at', 'ended')
publish(id)
admit(id, tonumber(ARGV[4]))
return done({'ok'})
