-- assign_to: ARGV[8] agent, [9] ticket, [10] group (empty: the agent's first group).
-- Direct assignment (a transfer); the ticket leaves any wait sets it was in.
local e = need_state()
if e then return e end
local aid, t, g = ARGV[8], ARGV[9], ARGV[10]
local out = {}
local cur, rec = holder(t)
if cur == aid then
  existing(out, 'transfer', t, rec)
  return out
end
if cur then return fail('CONFLICT', 'ticket is assigned to another agent') end
local a = load_agent(aid)
if not a then return fail('NOTFOUND', 'unknown agent') end
if a.st ~= 'online' or a.load >= a.cap then return fail('NOCAPACITY', 'agent is full or not online') end
if g == '' then g = a.groups[1] or '' end
local tm = load_meta(t)
if tm then
  unwait(t, tm.groups)
else
  tm = {vip = 0, created = NOW, groups = {}, skills = {}}
end
assign(out, 'transfer', t, a, g, breakdown(tm, g, skill_of(tm, g)))
return out
