//! Seconds given on the command line: clap value parsers that refuse what a `Duration` cannot
//! hold (negative, NaN, infinite), so a bad value is a usage error naming its flag, not a
//! panic in the middle of a run.

/// The longest any of `mq-bench`'s times may be: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// More than zero seconds, at most a day.
pub fn positive(text: &str) -> Result<f64, String> {
    within(text, |secs| secs > 0.0, "above 0 and at most")
}

/// Zero seconds or more, at most a day.
pub fn non_negative(text: &str) -> Result<f64, String> {
    within(text, |secs| secs >= 0.0, "from 0 to")
}

/// `text` as seconds if `low_ok` takes it and it is at most [`MAX_SECONDS`] (NaN fails both).
fn within(text: &str, low_ok: fn(f64) -> bool, range: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if low_ok(secs) && secs <= MAX_SECONDS => Ok(secs),
        _ => Err(format!(
            "{text:?} is not a number of seconds {range} {MAX_SECONDS}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_duration_cannot_hold_is_refused() {
        for bad in ["-1", "NaN", "inf", "abc", "", "86401"] {
            assert!(positive(bad).is_err(), "{bad}");
            assert!(non_negative(bad).is_err(), "{bad}");
        }
        assert!(positive("0").is_err());
        assert_eq!(non_negative("0"), Ok(0.0));
        assert_eq!(positive("0.5"), Ok(0.5));
        assert_eq!(non_negative("86400"), Ok(86_400.0));
    }
}
