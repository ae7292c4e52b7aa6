-- Undo of take.lua for one user: return the stock and remove the dedup marker.
-- KEYS[1] stock counter, KEYS[2] buyers set, KEYS[3] results hash;
-- ARGV[1] user id, ARGV[2] 'forget' (the request never happened: drop the result) or
-- 'failed' (the order was refused: the user reads FAILED).
-- Idempotent: only a user who holds a marker gives stock back, so a repeated give-back
-- (a redelivered failure) cannot inflate the stock. Answers 1 if stock was returned, else 0.
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
end
if ARGV[2] == 'failed' then
  redis.call('HSET', KEYS[3], ARGV[1], 'FAILED')
else
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1
