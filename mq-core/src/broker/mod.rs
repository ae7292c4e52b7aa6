//! The broker server: request processors, long polling, delay schedule, retry and DLQ.
