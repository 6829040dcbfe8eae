-- route: ARGV[8] ticket, [9] vip tier, [10] created ms, [11] priority score,
-- then pairs of (group, skill match). Assigns to the least-loaded free agent of the
-- best-scoring group that has one, else the ticket waits in every candidate group.
local e = need_state()
if e then return e end
local t = ARGV[8]
local out = {}
local cur, rec = holder(t)
if cur then
  existing(out, 'route', t, rec)
  return out
end
local old = load_meta(t)
if old then unwait(t, old.groups) end

local tm = {vip = tonumber(ARGV[9]), created = tonumber(ARGV[10]), groups = {}, skills = {}}
local cands = {}
for i = 12, #ARGV, 2 do
  local n = #cands + 1
  tm.groups[n] = ARGV[i]
  tm.skills[n] = ARGV[i + 1]
  local b = breakdown(tm, ARGV[i], tonumber(ARGV[i + 1]))
  b.i = n
  cands[n] = b
end
table.sort(cands, function(x, y)
  if x.total ~= y.total then return x.total > y.total end
  return x.i < y.i
end)

for _, c in ipairs(cands) do
  local akey = key('avail:', c.g)
  while true do
    local r = redis.call('ZRANGE', akey, 0, 0)
    if not r[1] then break end
    local a = load_agent(r[1])
    if a and a.st == 'online' and a.load < a.cap then
      assign(out, 'route', t, a, c.g, c)
      return out
    end
    redis.call('ZREM', akey, r[1])
  end
end

local ps = ARGV[11]
for _, g in ipairs(tm.groups) do redis.call('ZADD', key('wait:', g), ps, t) end
redis.call('SADD', key('groups'), unpack(tm.groups))
redis.call('HSET', key('t:', t), 'v', ARGV[9], 'c', ARGV[10], 'g', table.concat(tm.groups, ','),
  'm', table.concat(tm.skills, ','), 'ps', ps)
local seq = redis.call('INCR', key('seq'))
record(out, 'wait', t, '', cands[1].g, 0, 0, seq, bd_csv(cands[1]))
return out
