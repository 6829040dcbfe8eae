-- release: ARGV[8] agent, [9] ticket. Frees the ticket's slot and, when the agent is
-- online, pulls the best waiting tickets of its groups into the free slots.
local e = need_state()
if e then return e end
local aid, t = ARGV[8], ARGV[9]
if holder(t) ~= aid then
  return fail('NOTFOUND', 'ticket is not assigned to this agent')
end
redis.call('HDEL', key('asg'), t)
local out = {}
local a = load_agent(aid)
if not a then return out end
if a.load > 0 then
  a.load = a.load - 1
  redis.call('HSET', key('a:', aid), 'load', a.load)
  if a.st == 'online' then
    for _, g in ipairs(a.groups) do redis.call('HINCRBY', key('g:', g), 'load', -1) end
    set_avail(a)
  end
end
pull(out, a)
return out
