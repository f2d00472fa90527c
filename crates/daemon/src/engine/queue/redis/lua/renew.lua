-- ARGV: prefix, now, lease_ms, then id, token pairs
-- Extends the leases of a host's running jobs. Answers a code per job: 0 renewed,
-- 1 renewed but a cancel was asked, 2 lost (its token was taken over: end it).
local expiry = tonumber(ARGV[2]) + tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local h = redis.call('HMGET', job_key(id), 'token', 'group', 'cancel')
  if h[1] == token and redis.call('ZSCORE', key('running', h[2]), id) then
    redis.call('ZADD', key('running', h[2]), 'XX', expiry, id)
    out[#out + 1] = (h[3] == '1') and 1 or 0
  else
    out[#out + 1] = 2
  end
end
return out
