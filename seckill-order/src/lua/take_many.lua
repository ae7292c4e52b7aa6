-- take.lua for a batch of requests on ONE goods, with exactly its answers, as if take.lua had
-- run once per entry in order; the gate's coalescer runs it once per goods and batch.
-- KEYS[1] stock counter, KEYS[2] buyers set, KEYS[3] results hash, KEYS[4] requests hash
-- (all sharing the goods' hash tag, so the script stays Redis-Cluster-safe);
-- ARGV = user id 1, request id 1, user id 2, request id 2, ...
-- Answers one integer per entry: >= 0 taken (stock left after it), -1 goods not warmed,
-- -2 duplicate (also the second entry of one user in the batch), -3 sold out.
-- Cheap per entry: the stock is read once and kept in a local; SADD is the dedup check and
-- the marker at once (it answers 0 for a buyer already in the set); the stock, results and
-- requests are written once per batch (one DECRBY, one multi-field HSET per hash). Only once
-- the stock ran out does an entry cost a SISMEMBER, to tell a duplicate from a sold-out
-- answer without leaving a marker. The caller bounds the batch (MAX_TAKE_BATCH) so `unpack`
-- stays far below Lua's stack limit.
local n = #ARGV / 2
local answers = {}
local stock = redis.call('GET', KEYS[1])
if not stock then
  for i = 1, n do
    answers[i] = -1
  end
  return answers
end
stock = tonumber(stock)
if not stock or stock ~= math.floor(stock) then
  -- Checked before any write: a script error does not roll back what already ran.
  return redis.error_reply('the stock counter is not an integer')
end
local results = {}
local requests = {}
local taken = 0
for i = 1, n do
  local user = ARGV[2 * i - 1]
  if stock > 0 then
    if redis.call('SADD', KEYS[2], user) == 1 then
      stock = stock - 1
      taken = taken + 1
      answers[i] = stock
      results[#results + 1] = user
      results[#results + 1] = 'PENDING'
      requests[#requests + 1] = user
      requests[#requests + 1] = ARGV[2 * i]
    else
      answers[i] = -2
    end
  elseif redis.call('SISMEMBER', KEYS[2], user) == 1 then
    answers[i] = -2
  else
    answers[i] = -3
  end
end
if taken > 0 then
  redis.call('DECRBY', KEYS[1], taken)
  redis.call('HSET', KEYS[3], unpack(results))
  redis.call('HSET', KEYS[4], unpack(requests))
end
return answers
