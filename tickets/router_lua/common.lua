-- Helpers shared by every router script; the Go side prepends this file.
--
-- Calling convention: KEYS[1] is the router's epoch key "{tag}:epoch" (it routes the
-- call to the cluster node owning the tag's slot). ARGV[1] is the key prefix "{tag}:",
-- ARGV[2] the caller's clock in unix ms, ARGV[3..6] the weights vip, skill, load, wait,
-- ARGV[7] the aging horizon in ms; the operation's own arguments start at ARGV[8].
-- Every other key is derived from ARGV[1], so all of them hash to the same slot.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local W = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
local HORIZON = tonumber(ARGV[7])

local function key(kind, id)
  return P .. kind .. (id or '')
end

-- need_state returns an error reply when the state has not been built (or Redis lost it).
local function need_state()
  if redis.call('EXISTS', KEYS[1]) == 0 then
    return redis.error_reply('NOSTATE routing state missing')
  end
  return nil
end

local function fail(code, msg)
  return redis.error_reply(code .. ' ' .. msg)
end

local function split(s)
  local out = {}
  if s then
    for x in string.gmatch(s, '[^,]+') do out[#out + 1] = x end
  end
  return out
end

local function num(s)
  return tonumber(s) or 0
end

-- fmt keeps a float exact across the reply (Lua numbers would be truncated to integers).
local function fmt(x)
  return string.format('%.17g', x)
end

local function clamp01(x)
  if x < 0 then return 0 elseif x > 1 then return 1 end
  return x
end

local function member(list, v)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end

local function load_agent(id)
  local v = redis.call('HMGET', key('a:', id), 'st', 'cap', 'load', 'groups')
  if not v[1] then return nil end
  return {id = id, st = v[1], cap = num(v[2]), load = num(v[3]), groups = split(v[4])}
end

-- load_meta reads what a waiting ticket needs for a later breakdown.
local function load_meta(t)
  local v = redis.call('HMGET', key('t:', t), 'v', 'c', 'g', 'm')
  if not v[3] then return nil end
  return {vip = num(v[1]), created = num(v[2]), groups = split(v[3]), skills = split(v[4])}
end

local function skill_of(tm, g)
  for i, x in ipairs(tm.groups) do
    if x == g then return num(tm.skills[i]) end
  end
  return 0
end

-- group_load is load/capacity over the group's online agents; 1 when nobody is online.
local function group_load(g)
  local v = redis.call('HMGET', key('g:', g), 'load', 'cap')
  local c = num(v[2])
  if c <= 0 then return 1 end
  return clamp01(num(v[1]) / c)
end

-- breakdown scores ticket tm for group g:
-- total = w.vip*(vip/3) + w.skill*skill + w.load*(1 - group_load) + w.wait*aging.
local function breakdown(tm, g, skill)
  local b = {g = g, gl = group_load(g)}
  b.vip = W[1] * clamp01(tm.vip / 3)
  b.skill = W[2] * skill
  b.load = W[3] * (1 - b.gl)
  local age = 0
  if HORIZON > 0 then age = clamp01((NOW - tm.created) / HORIZON) end
  b.wait = W[4] * age
  b.total = b.vip + b.skill + b.load + b.wait
  return b
end

local function bd_csv(b)
  return table.concat({fmt(b.vip), fmt(b.skill), fmt(b.load), fmt(b.wait), fmt(b.total),
    fmt(b.gl), ARGV[3], ARGV[4], ARGV[5], ARGV[6]}, ',')
end

-- record appends one result of stride 8: kind, ticket, agent, group, load, cap, seq, breakdown.
local function record(out, kind, t, aid, g, load, cap, seq, csv)
  local n = #out
  out[n + 1] = kind
  out[n + 2] = t
  out[n + 3] = aid
  out[n + 4] = g
  out[n + 5] = tostring(load)
  out[n + 6] = tostring(cap)
  out[n + 7] = tostring(seq)
  out[n + 8] = csv
end

-- set_avail puts an online agent into (or out of) its groups' free-agent sets.
local function set_avail(a)
  for _, g in ipairs(a.groups) do
    if a.load < a.cap then
      redis.call('ZADD', key('avail:', g), a.load / a.cap, a.id)
    else
      redis.call('ZREM', key('avail:', g), a.id)
    end
  end
end

-- attach (sign 1) adds an online agent to its groups' counters and free sets;
-- sign -1 takes it out again.
local function attach(a, sign)
  for _, g in ipairs(a.groups) do
    -- only non-zero deltas: Lua's -1 * 0 is -0, which HINCRBY rejects
    local gk = key('g:', g)
    if a.load ~= 0 then redis.call('HINCRBY', gk, 'load', sign * a.load) end
    if a.cap ~= 0 then redis.call('HINCRBY', gk, 'cap', sign * a.cap) end
    if sign > 0 and a.load < a.cap then
      redis.call('ZADD', key('avail:', g), a.load / a.cap, a.id)
    else
      redis.call('ZREM', key('avail:', g), a.id)
    end
  end
end

local function take(a)
  a.load = a.load + 1
  redis.call('HSET', key('a:', a.id), 'load', a.load)
  for _, g in ipairs(a.groups) do redis.call('HINCRBY', key('g:', g), 'load', 1) end
  set_avail(a)
end

-- unwait takes a waiting ticket out of every wait set and drops its meta.
local function unwait(t, groups)
  for _, g in ipairs(groups) do redis.call('ZREM', key('wait:', g), t) end
  redis.call('DEL', key('t:', t))
end

-- holder returns the agent holding ticket t and its assignment record
-- "agent,group,seq,<breakdown>" (just "agent" when restored from a snapshot).
local function holder(t)
  local rec = redis.call('HGET', key('asg'), t)
  if not rec then return nil, nil end
  return string.match(rec, '^[^,]*'), rec
end

-- assign gives ticket t a slot of agent a via group g; b was scored before the slot was taken.
local function assign(out, kind, t, a, g, b)
  take(a)
  local seq = redis.call('INCR', key('seq'))
  local csv = bd_csv(b)
  redis.call('HSET', key('asg'), t, a.id .. ',' .. g .. ',' .. seq .. ',' .. csv)
  record(out, kind, t, a.id, g, a.load, a.cap, seq, csv)
end

-- existing reports a ticket's current assignment again (idempotent calls).
local function existing(out, kind, t, rec)
  local aid, g, seq, csv = string.match(rec, '^([^,]*),?([^,]*),?([^,]*),?(.*)$')
  local a = redis.call('HMGET', key('a:', aid), 'load', 'cap')
  record(out, kind, t, aid, g, num(a[1]), num(a[2]), num(seq), csv)
end

-- pull fills an online agent's free slots with the best (lowest score) waiting tickets
-- across all of its groups; each pulled ticket leaves every wait set it was in.
local function pull(out, a)
  while a.st == 'online' and a.load < a.cap do
    local best, bg, bs
    for _, g in ipairs(a.groups) do
      local r = redis.call('ZRANGE', key('wait:', g), 0, 0, 'WITHSCORES')
      if r[1] then
        local s = tonumber(r[2])
        if not best or s < bs or (s == bs and r[1] < best) then best, bg, bs = r[1], g, s end
      end
    end
    if not best then return end
    local tm = load_meta(best)
    if tm then
      unwait(best, tm.groups)
      assign(out, 'pull', best, a, bg, breakdown(tm, bg, skill_of(tm, bg)))
    else
      unwait(best, a.groups) -- a wait entry without meta cannot be scored; drop it
    end
  end
end

-- claim_refusal is why online agent a may not take one more ticket by an explicit claim
-- (nil: it may). A claim may go up to `over` tickets beyond the capacity; automatic
-- routing and pulls never do (they test load < cap).
local function claim_refusal(a, over)
  if a.st ~= 'online' then return 'agent is not online' end
  if a.load >= a.cap + over then
    return 'agent is full (' .. a.load .. ' tickets, capacity ' .. a.cap .. ' plus ' .. over .. ' by claim)'
  end
  return nil
end

-- claim_best scores waiting ticket tm for the best of its groups that agent a is in
-- (nil when a is in none of them).
local function claim_best(a, tm)
  local best
  for i, g in ipairs(tm.groups) do
    if member(a.groups, g) then
      local b = breakdown(tm, g, num(tm.skills[i]))
      if not best or b.total > best.total then best = b end
    end
  end
  return best
end
