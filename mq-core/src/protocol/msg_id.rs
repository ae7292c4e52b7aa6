//! The offset msgId: broker address and CommitLog offset, as RocketMQ prints it (32 hex digits).
