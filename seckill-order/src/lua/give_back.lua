-- Undo of take.lua for one user: the stock unit of a place still pending comes back.
-- KEYS[1] stock counter, KEYS[2] results hash; ARGV[1] user id, ARGV[2] 'forget' (the
-- request never happened: the field is removed) or 'failed' (the order was refused: the user
-- reads FAILED), ARGV[3] a request id or ''.
-- Only a pending place is given back: a place whose order is written (SUCCESS) keeps its
-- unit, and FAILED or no field holds none, so a repeated give-back (a redelivered failure)
-- cannot inflate the stock. With a request id, only the place that request took
-- (PENDING:<request id>) is given back: a gate whose Redis reply was lost can undo its own
-- take without touching a place another request holds.
-- Answers 1 if stock was returned, else 0.
local held = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
  if held ~= 'PENDING:' .. ARGV[3] then
    return 0
  end
elseif not held or string.sub(held, 1, 7) ~= 'PENDING' then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
end
if ARGV[2] == 'failed' then
  redis.call('HSET', KEYS[2], ARGV[1], 'FAILED')
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
