-- The gate's one atomic step: per-user dedup and stock pre-deduction together.
-- KEYS[1] stock counter, KEYS[2] results hash (one field per buyer: see keys.rs);
-- ARGV[1] user id, ARGV[2] the gate request's id.
-- Answers: >= 0 taken (stock left), -1 goods not warmed, -2 duplicate, -3 sold out.
-- A duplicate never touches stock; a sold-out answer leaves no marker, so the user may try
-- again if stock is given back later. The place is recorded as PENDING:<request id>: the
-- dedup marker, the PENDING result and the request that took it (which scopes an undo, see
-- give_back.lua) in one field. A FAILED user holds no place and may take one again.
local stock = redis.call('GET', KEYS[1])
if not stock then
  return -1
end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held and held ~= 'FAILED' then
  return -2
end
if tonumber(stock) <= 0 then
  return -3
end
local left = redis.call('DECR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], 'PENDING:' .. ARGV[2])
return left
