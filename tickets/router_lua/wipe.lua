-- wipe: deletes the router's state, the epoch first (so every other script reports
-- NOSTATE while a rebuild runs). The sequence counter is kept so seq stays monotonic.
redis.call('DEL', KEYS[1])
for _, g in ipairs(redis.call('SMEMBERS', key('groups'))) do
  for _, t in ipairs(redis.call('ZRANGE', key('wait:', g), 0, -1)) do
    redis.call('DEL', key('t:', t))
  end
  redis.call('DEL', key('wait:', g), key('avail:', g), key('g:', g))
end
for _, a in ipairs(redis.call('SMEMBERS', key('agents'))) do
  redis.call('DEL', key('a:', a))
end
redis.call('DEL', key('groups'), key('agents'), key('asg'))
return 1
