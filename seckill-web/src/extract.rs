//! The strict `goodsId` + `userId` extractor: both from the query string, or for POST also from
//! an `application/x-www-form-urlencoded` body, and every rejection an [`AppError`] (JSON),
//! never axum's plain-text rejection.
//!
//! Accepted: a canonical positive decimal within `i64` (`1` ..= `9223372036854775807`).
//! Refused: missing, empty, signs (`+1`, `-1`), zero, leading zeros, fractions, exponents,
//! out-of-range, and a parameter given twice (even once in the query and once in the body),
//! because which copy wins would otherwise be an accident of the parser. Unknown parameters
//! (cache busters such as `_=123`) are ignored.

use axum::extract::{Form, FromRequest, Query, Request};
use axum::http::{Method, header};

use crate::error::AppError;

/// The two ids every gate endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoodsUser {
    /// The goods asked for.
    pub goods_id: i64,
    /// The user asking.
    pub user_id: i64,
}

/// Echoed inputs are cut to this many characters: an error must not mirror a huge parameter.
const ECHO_MAX: usize = 24;

impl GoodsUser {
    /// Picks and checks both ids from decoded `name=value` pairs.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, AppError> {
        Ok(Self {
            goods_id: single_id(pairs, "goodsId")?,
            user_id: single_id(pairs, "userId")?,
        })
    }
}

impl<S: Send + Sync> FromRequest<S> for GoodsUser {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let Query(mut pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
        // A POST without a content type carries its parameters in the query string only.
        if request.method() == Method::POST && request.headers().contains_key(header::CONTENT_TYPE)
        {
            let Form(body) = Form::<Vec<(String, String)>>::from_request(request, state)
                .await
                .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
            pairs.extend(body);
        }
        Self::from_pairs(&pairs)
    }
}

fn single_id(pairs: &[(String, String)], name: &str) -> Result<i64, AppError> {
    let mut values = pairs.iter().filter(|(key, _)| key == name).map(|(_, v)| v);
    let Some(raw) = values.next() else {
        return Err(AppError::BadRequest(format!("{name} is required")));
    };
    if values.next().is_some() {
        return Err(AppError::BadRequest(format!(
            "{name} is given more than once"
        )));
    }
    positive_id(raw).ok_or_else(|| {
        AppError::BadRequest(format!(
            "{name} must be a positive integer up to {}, got {:?}",
            i64::MAX,
            echo(raw)
        ))
    })
}

/// A canonical positive decimal: digits only (no sign, so `parse`'s `+` is kept out), no
/// leading zero, within `i64`.
fn positive_id(raw: &str) -> Option<i64> {
    let canonical = raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0');
    if !canonical {
        return None;
    }
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

fn echo(raw: &str) -> String {
    match raw.char_indices().nth(ECHO_MAX) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_positive_i64_decimals_are_ids() {
        for good in ["1", "42", "9223372036854775807"] {
            assert!(positive_id(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "0",
            "00",
            "01",
            "-1",
            "+1",
            "1.5",
            "1e3",
            " 1",
            "1 ",
            "abc",
            "0x10",
            "9223372036854775808",
            "99999999999999999999999",
            "١",
        ] {
            assert_eq!(positive_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_long_input_is_echoed_cut() {
        let long = "9".repeat(100);
        let echoed = echo(&long);
        assert!(echoed.chars().count() <= ECHO_MAX + 1, "{echoed}");
    }

    #[test]
    fn repeated_and_missing_parameters_are_refused() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert!(GoodsUser::from_pairs(&pairs(&[("goodsId", "1"), ("userId", "2")])).is_ok());
        assert!(GoodsUser::from_pairs(&pairs(&[("goodsId", "1")])).is_err());
        assert!(
            GoodsUser::from_pairs(&pairs(&[
                ("goodsId", "1"),
                ("goodsId", "1"),
                ("userId", "2")
            ]))
            .is_err()
        );
        assert!(
            GoodsUser::from_pairs(&pairs(&[("goodsId", "1"), ("userId", "2"), ("_", "9")])).is_ok(),
            "unknown parameters are ignored"
        );
    }
}
