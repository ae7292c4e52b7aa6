-- give_back.lua for a batch of places on ONE goods, each scoped to the request that took it:
-- the undo of a take_many whose orders the broker did not acknowledge (or whose answer was
-- lost). Same rules per entry as give_back.lua with a request id: only a place that request
-- still holds (PENDING:<request id>) is returned, so a retried undo cannot return a unit
-- twice nor touch a place another request holds.
-- KEYS[1] stock counter, KEYS[2] results hash;
-- ARGV[1] 'forget' (drop the field) or 'failed' (the user reads FAILED), then
-- ARGV = ..., user id, request id, ... pairs. The stock is written once per batch (INCRBY).
-- Answers one integer per entry: 1 if its place was returned, else 0.
local n = (#ARGV - 1) / 2
local answers = {}
local returned = 0
for i = 1, n do
  local user = ARGV[2 * i]
  answers[i] = 0
  if redis.call('HGET', KEYS[2], user) == 'PENDING:' .. ARGV[2 * i + 1] then
    if ARGV[1] == 'failed' then
      redis.call('HSET', KEYS[2], user, 'FAILED')
    else
      redis.call('HDEL', KEYS[2], user)
    end
    returned = returned + 1
    answers[i] = 1
  end
end
if returned > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], returned)
end
return answers
