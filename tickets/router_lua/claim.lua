-- claim: ARGV[8] agent, [9] ticket, [10] claim overflow. The agent takes a specific
-- waiting ticket through the best-scoring of the ticket's groups that the agent belongs
-- to, even at capacity: up to the overflow beyond it (claim_refusal).
local e = need_state()
if e then return e end
local aid, t, over = ARGV[8], ARGV[9], tonumber(ARGV[10]) or 0
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
local why = claim_refusal(a, over)
if why then return fail('NOCAPACITY', why) end
local best = claim_best(a, tm)
if not best then return fail('FORBIDDEN', 'agent is in none of the ticket groups') end
unwait(t, tm.groups)
assign(out, 'claim', t, a, best.g, best)
return out
