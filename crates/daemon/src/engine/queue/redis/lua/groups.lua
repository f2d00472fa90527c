-- ARGV: prefix, 'put', name, parallel, only_if_missing  -> the group's JSON
--       prefix, 'pause', '1'|'0', names... (none: every group) -> {'ok', JSON...} or {'missing', name}
if ARGV[2] == 'put' then
  local raw = redis.call('HGET', key('groups'), ARGV[3])
  local paused = false
  if raw then
    if ARGV[5] == '1' then return raw end
    paused = cjson.decode(raw).paused
  end
  local g = cjson.encode({name = ARGV[3], parallel = tonumber(ARGV[4]), paused = paused})
  redis.call('HSET', key('groups'), ARGV[3], g)
  woke = true
  return done(g)
end
local names = {}
for i = 4, #ARGV do names[#names + 1] = ARGV[i] end
if #names == 0 then names = redis.call('HKEYS', key('groups')) end
for _, name in ipairs(names) do
  if redis.call('HEXISTS', key('groups'), name) == 0 then return {'missing', name} end
end
local out = {'ok'}
for _, name in ipairs(names) do
  local g = cjson.decode(redis.call('HGET', key('groups'), name))
  g.paused = ARGV[3] == '1'
  local raw = cjson.encode(g)
  redis.call('HSET', key('groups'), name, raw)
  out[#out + 1] = raw
end
woke = true
return done(out)
