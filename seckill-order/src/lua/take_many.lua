-- take.lua for a batch of requests on ONE goods, with exactly its answers, as if take.lua had
-- run once per entry in order; the gate's coalescer runs it once per goods and batch.
-- KEYS[1] stock counter, KEYS[2] results hash (sharing the goods' hash tag, so the script
-- stays Redis-Cluster-safe); ARGV = user id 1, request id 1, user id 2, request id 2, ...
-- Answers one integer per entry: >= 0 taken (stock left after it), -1 goods not warmed,
-- -2 duplicate (also the second entry of one user in the batch), -3 sold out.
-- Cheap per entry: the stock is read once and kept in a local, and while stock lasts one
-- HSETNX is the dedup check and the whole record of the place (PENDING:<request id>) at once;
-- the stock is written once per batch (one DECRBY). Only a user whose field already exists
-- costs an HGET more (a FAILED user holds no place and takes one again), and once the stock
-- ran out an entry costs an HGET, to tell a duplicate from a sold-out answer without leaving
-- a marker. The caller bounds the batch (MAX_BATCH).
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
local taken = 0
for i = 1, n do
  local user = ARGV[2 * i - 1]
  if stock > 0 then
    local place = 'PENDING:' .. ARGV[2 * i]
    if redis.call('HSETNX', KEYS[2], user, place) == 1 then
      answers[i] = stock - 1
    elseif redis.call('HGET', KEYS[2], user) == 'FAILED' then
      redis.call('HSET', KEYS[2], user, place)
      answers[i] = stock - 1
    else
      answers[i] = -2
    end
    if answers[i] >= 0 then
      stock = stock - 1
      taken = taken + 1
    end
  else
    local held = redis.call('HGET', KEYS[2], user)
    if held and held ~= 'FAILED' then
      answers[i] = -2
    else
      answers[i] = -3
    end
  end
end
if taken > 0 then
  redis.call('DECRBY', KEYS[1], taken)
end
return answers
