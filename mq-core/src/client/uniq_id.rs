//! The producer-made message id (`UNIQ_KEY`), built the way RocketMQ's `MessageClientIDSetter` does.
//!
//! 16 bytes printed as 32 uppercase hex digits: IPv4 address (4) ‖ pid (i16) ‖ a per-process
//! random number standing in for Java's class-loader hash (i32) ‖ milliseconds since the start
//! of the current month, UTC (i32) ‖ a counter (i16). Unique per producer process as long as
//! fewer than 65,536 ids are made in one millisecond.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};

use super::core::{local_ip, now_ms};

const DAY_MS: i64 = 86_400_000;

struct Prefix {
    hex: String,
}

fn prefix() -> &'static Prefix {
    static PREFIX: OnceLock<Prefix> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let ip = match local_ip() {
            IpAddr::V4(v4) => v4.octets(),
            IpAddr::V6(v6) => {
                let o = v6.octets();
                [o[12], o[13], o[14], o[15]]
            }
        };
        let mut raw = Vec::with_capacity(10);
        raw.extend_from_slice(&ip);
        // Java narrows the pid to a short the same way.
        raw.extend_from_slice(&(std::process::id() as u16).to_be_bytes());
        raw.extend_from_slice(&rand::random::<i32>().to_be_bytes());
        Prefix { hex: hex(&raw) }
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

/// Day of the month (1-based) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn day_of_month(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    doy - (153 * mp + 2) / 5 + 1
}

/// A fresh `UNIQ_KEY`.
pub fn new_uniq_key() -> String {
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let now = now_ms();
    let days = now.div_euclid(DAY_MS);
    let month_start = (days - (day_of_month(days) - 1)) * DAY_MS;
    let since_month = (now - month_start) as i32;
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tail = [0u8; 6];
    tail[..4].copy_from_slice(&since_month.to_be_bytes());
    tail[4..].copy_from_slice(&counter.to_be_bytes());
    let mut id = prefix().hex.clone();
    id.push_str(&hex(&tail));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_distinct() {
        let a = new_uniq_key();
        let b = new_uniq_key();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn day_of_month_matches_known_dates() {
        assert_eq!(day_of_month(0), 1); // 1970-01-01
        assert_eq!(day_of_month(19_782), 29); // 2024-02-29
        assert_eq!(day_of_month(19_783), 1); // 2024-03-01
    }
}
