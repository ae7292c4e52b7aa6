//! Load, benchmark and verification tools for the seckill stack.
