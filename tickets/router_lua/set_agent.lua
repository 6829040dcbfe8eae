-- set_agent: ARGV[8] agent, [9] status, [10] capacity, [11] comma-joined groups.
-- Takes the agent's old presence out of the group counters, writes the new one, and
-- pulls waiting tickets into any free slots.
local e = need_state()
if e then return e end
local aid = ARGV[8]
local old = load_agent(aid)
local load = 0
if old then
  load = old.load
  if old.st == 'online' then attach(old, -1) end
end
local a = {id = aid, st = ARGV[9], cap = tonumber(ARGV[10]), load = load, groups = split(ARGV[11])}
redis.call('HSET', key('a:', aid), 'st', a.st, 'cap', a.cap, 'load', a.load, 'groups', ARGV[11])
redis.call('SADD', key('agents'), aid)
if #a.groups > 0 then redis.call('SADD', key('groups'), unpack(a.groups)) end
if a.st == 'online' then attach(a, 1) end
local out = {}
pull(out, a)
return out
