//! Tag hash codes (Java `String.hashCode`) and subscription expressions (`*`, `a || b`).
