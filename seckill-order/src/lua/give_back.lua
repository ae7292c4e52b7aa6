-- Undo of take.lua for one user: return the stock and remove the dedup marker.
-- KEYS[1] stock counter, KEYS[2] buyers set, KEYS[3] results hash, KEYS[4] requests hash;
-- ARGV[1] user id, ARGV[2] 'forget' (the request never happened: drop the result) or
-- 'failed' (the order was refused: the user reads FAILED), ARGV[3] a request id or ''.
-- With a request id, only the place that request took is given back: a gate whose Redis
-- reply was lost can undo its own take without touching a place another request holds.
-- Idempotent: only a user who holds a marker gives stock back, so a repeated give-back
-- (a redelivered failure) cannot inflate the stock. Answers 1 if stock was returned, else 0.
if ARGV[3] ~= '' and redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[3] then
  return 0
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
end
if ARGV[2] == 'failed' then
  redis.call('HSET', KEYS[3], ARGV[1], 'FAILED')
else
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1
