-- claimable: ARGV[8] agent, [9] claim overflow, [10..] tickets. For each ticket 1 when
-- claim.lua would give it to the agent now, else 0 (read only).
local e = need_state()
if e then return e end
local over = tonumber(ARGV[9]) or 0
local a = load_agent(ARGV[8])
local ok = a and claim_refusal(a, over) == nil
local out = {}
for i = 10, #ARGV do
  local v = 0
  if ok and not holder(ARGV[i]) then
    local tm = load_meta(ARGV[i])
    if tm and claim_best(a, tm) then v = 1 end
  end
  out[#out + 1] = v
end
return out
