//! What seckill-web and seckill-service agree on: the order message, the Redis key layout and
//! the gate's Lua scripts.
