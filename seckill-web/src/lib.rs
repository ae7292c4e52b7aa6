//! seckill-web: the flash-sale HTTP gate.
