-- The gate's one atomic step: per-user dedup and stock pre-deduction together.
-- KEYS[1] stock counter, KEYS[2] buyers set, KEYS[3] results hash, KEYS[4] requests hash;
-- ARGV[1] user id, ARGV[2] the gate request's id.
-- Answers: >= 0 taken (stock left), -1 goods not warmed, -2 duplicate, -3 sold out.
-- A duplicate never touches stock; a sold-out answer leaves no marker, so the user may try
-- again if stock is given back later. The request id is remembered so that an undo can be
-- scoped to the request that took the place (see give_back.lua).
local stock = redis.call('GET', KEYS[1])
if not stock then
  return -1
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return -2
end
if tonumber(stock) <= 0 then
  return -3
end
local left = redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], 'PENDING')
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
return left
