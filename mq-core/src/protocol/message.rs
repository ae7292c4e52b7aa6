//! The stored-message layout of RocketMQ's `MessageDecoder`: one CommitLog record, also the pull wire format.
