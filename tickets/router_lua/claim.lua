-- claim: ARGV[8] agent, [9] ticket. The agent takes a specific waiting ticket through
-- the best-scoring of the ticket's groups that the agent belongs to.
local e = need_state()
if e then return e end
local aid, t = ARGV[8], ARGV[9]
local out = {}
local cur, rec = holder(t)
if cur == aid then
  existing(out, 'claim', t, rec)
  return out
end
if cur then return fail('CONFLICT', 'ticket is assigned to another agent') end
local tm = load_meta(t)
if not tm then return fail('NOTFOUND', 'ticket is not waiting') end
local a = load_agent(aid)
if not a then return fail('NOTFOUND', 'unknown agent') end
if a.st ~= 'online' or a.load >= a.cap then return fail('NOCAPACITY', 'agent is full or not online') end
local best
for i, g in ipairs(tm.groups) do
  if member(a.groups, g) then
    local b = breakdown(tm, g, num(tm.skills[i]))
    if not best or b.total > best.total then best = b end
  end
end
if not best then return fail('FORBIDDEN', 'agent is in none of the ticket groups') end
unwait(t, tm.groups)
assign(out, 'claim', t, a, best.g, best)
return out
