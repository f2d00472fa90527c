-- ARGV: prefix, id, token, body, attempt
-- The claimed job's process runs. Answers 0 when the token is no longer the job's (its
-- lease was taken over): the caller must end the process, not report it.
local jk = job_key(ARGV[2])
if redis.call('HGET', jk, 'token') ~= ARGV[3] then return 0 end
redis.call('HSET', jk, 'body', ARGV[4], 'state', 'running', 'attempt', ARGV[5])
if redis.call('HGET', jk, 'cancel') ~= '1' then redis.call('HSET', jk, 'reason', '') end
publish(ARGV[2])
return 1
