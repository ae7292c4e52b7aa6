//! The client: connections, producer, push and pull consumers.
