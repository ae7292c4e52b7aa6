//! The message store: CommitLog, ConsumeQueue, index, dispatch, flush, recovery, retention.
