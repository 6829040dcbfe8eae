-- read: ARGV[8] kind ('q' queue depth, 'g' group load, 'a' agent load), [9] id.
local e = need_state()
if e then return e end
local kind, id = ARGV[8], ARGV[9]
if kind == 'q' then
  return {redis.call('ZCARD', key('wait:', id)), 0}
end
if kind == 'g' then
  local v = redis.call('HMGET', key('g:', id), 'load', 'cap')
  return {num(v[1]), num(v[2])}
end
local v = redis.call('HMGET', key('a:', id), 'load', 'cap')
if not v[2] then return fail('NOTFOUND', 'unknown agent') end
return {num(v[1]), num(v[2])}
