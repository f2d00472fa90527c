-- Shared by every script. ARGV[1] is the key prefix; the keys are built here (procward
-- uses one Redis server or a Sentinel-managed primary, not a cluster).
--
-- Layout (P = the prefix):
--   P:job:ID        hash: body (the Job as JSON), state, reason, group, score, after,
--                   after_any, attempt, code, run_at, host, token, cancel, created, ended
--   P:jobs          zset of every job id
--   P:groups        hash: name -> Group JSON {name, parallel, paused}
--   P:ready:G       zset: group G's jobs whose dependencies are met, best first
--   P:running:G     zset: group G's claimed jobs, scored by their lease's expiry (ms);
--                   its size is the group's running count across every host
--   P:delayed       zset: delayed jobs by the Unix millisecond they may start
--   P:waiting:ID    set: queued jobs waiting for job ID to end
--   P:completed     zset: completed jobs by when they ended (for keep_completed)
--   P:out:ID        stream: the job's output lines (a attempt, s o/e, l line)
--   P:schedules, P:schedule_next   schedules (see schedules.lua); P:host:NAME, P:hosts   the fleet view
--   P:next_id, P:fence   counters: job ids, fencing tokens
--   channels P:events (job events as JSON), P:wake (work may start),
--            P:control:HOST (ids of jobs to cancel on HOST)
local P = ARGV[1]
local function key(...) return P .. ':' .. table.concat({...}, ':') end
local function job_key(id) return P .. ':job:' .. id end
local FINAL = {completed = true, failed = true, cancelled = true}
local woke = false

-- Publishes the job's event: what a watcher (gRPC Watch, socket.io, `wait`) gets.
local function publish(id)
  local h = redis.call('HMGET', job_key(id), 'group', 'state', 'attempt', 'code', 'reason', 'host')
  local event = {id = tonumber(id), group = h[1], state = h[2],
                 attempt = tonumber(h[3]) or 0, reason = h[5] or ''}
  if FINAL[h[2]] and h[4] and h[4] ~= '' then event.exit_code = tonumber(h[4]) end
  if h[6] and h[6] ~= '' then event.host = h[6] end
  redis.call('PUBLISH', key('events'), cjson.encode(event))
end

-- Whether a queued job may start: 'met'; 'pending' and the unfinished dependencies; or
-- 'broken', the dependency and its state.
local function dependencies(id)
  local h = redis.call('HMGET', job_key(id), 'after', 'after_any')
  local pending = {}
  for dep in string.gmatch(h[1] or '', '%d+') do
    local state = redis.call('HGET', job_key(dep), 'state')
    -- A dependency removed by `clean` or keep_completed had ended.
    if state and state ~= 'completed' then
      if not FINAL[state] then
        pending[#pending + 1] = dep
      elseif h[2] ~= '1' then
        return 'broken', dep, state
      end
    end
  end
  if #pending > 0 then return 'pending', pending end
  return 'met'
end

local function make_ready(id)
  local h = redis.call('HMGET', job_key(id), 'group', 'score')
  redis.call('ZADD', key('ready', h[1]), h[2], id)
  woke = true
end

-- Moves jobs to a final state, each with its event, and lets their dependents go on (or
-- fail with them, in turn).
local function settle(id, state, reason, now)
  local todo = {{id, state, reason}}
  while #todo > 0 do
    local item = table.remove(todo)
    local jid, st = item[1], item[2]
    local jk = job_key(jid)
    local group = redis.call('HGET', jk, 'group')
    redis.call('HSET', jk, 'state', st, 'reason', item[3], 'ended', now)
    redis.call('HDEL', jk, 'run_at')
    redis.call('ZREM', key('ready', group), jid)
    redis.call('ZREM', key('delayed'), jid)
    if st == 'completed' then redis.call('ZADD', key('completed'), now, jid) end
    publish(jid)
    local waiting = redis.call('SMEMBERS', key('waiting', jid))
    redis.call('DEL', key('waiting', jid))
    for _, dependent in ipairs(waiting) do
      if redis.call('HGET', job_key(dependent), 'state') == 'queued' then
        local verdict, dep, dep_state = dependencies(dependent)
        if verdict == 'met' then
          make_ready(dependent)
        elseif verdict == 'broken' then
          todo[#todo + 1] = {dependent, 'failed', 'dependency ' .. dep .. ' ' .. dep_state}
        end
      end
    end
  end
end

-- A queued job: ready in its group, waiting for its dependencies, or failed with one.
local function admit(id, now)
  local verdict, a, b = dependencies(id)
  if verdict == 'met' then
    make_ready(id)
  elseif verdict == 'pending' then
    for _, dep in ipairs(a) do redis.call('SADD', key('waiting', dep), id) end
  else
    settle(id, 'failed', 'dependency ' .. a .. ' ' .. b, now)
  end
end

-- Removes final jobs; answers the ids removed.
local function forget(ids)
  local removed = {}
  for _, id in ipairs(ids) do
    if FINAL[redis.call('HGET', job_key(id), 'state') or ''] then
      redis.call('DEL', job_key(id), key('waiting', id), key('out', id))
      redis.call('ZREM', key('jobs'), id)
      redis.call('ZREM', key('completed'), id)
      removed[#removed + 1] = id
    end
  end
  return removed
end

local function done(result)
  if woke then redis.call('PUBLISH', key('wake'), '') end
  return result
end
