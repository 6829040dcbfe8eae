-- forget: ARGV[8] ticket. Drops a waiting ticket from every wait set, with its meta.
local e = need_state()
if e then return e end
local t = ARGV[8]
if holder(t) then
  return fail('CONFLICT', 'ticket is assigned; release it instead')
end
local tm = load_meta(t)
if tm then unwait(t, tm.groups) end
return 1
