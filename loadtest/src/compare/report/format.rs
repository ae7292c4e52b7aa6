//! How figures, sizes and dates are written in tables, scenario names and the run's header.

/// `1024` → `1KiB`, `100` → `100B`.
pub fn size_label(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

/// A count with thousands separators (`196600.4` → `196,600`).
pub fn fmt_count(v: f64) -> String {
    let n = v.round();
    if !n.is_finite() {
        return format!("{v}");
    }
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

/// `YYYY-MM-DD HH:MM UTC` of seconds since the Unix epoch (civil-from-days).
pub fn utc_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::super::ratio;
    use super::*;

    #[test]
    fn formatting_helpers() {
        assert_eq!(fmt_count(196_600.4), "196,600");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(size_label(1024), "1KiB");
        assert_eq!(size_label(100), "100B");
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(1_764_115_200 + 3_661), "2025-11-26 01:01 UTC");
    }
}
