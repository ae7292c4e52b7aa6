//! The strict `goodsId` + `userId` extractor: both from the query string, or for POST also from
//! an `application/x-www-form-urlencoded` body, and every rejection an [`AppError`] (JSON),
//! never axum's plain-text rejection.
//!
//! Accepted: a canonical positive decimal within `i64` (`1` ..= `9223372036854775807`).
//! Refused: missing, empty, signs (`+1`, `-1`), zero, leading zeros, fractions, exponents,
//! out-of-range, and a parameter given twice (even once in the query and once in the body),
//! because which copy wins would otherwise be an accident of the parser. Unknown parameters
//! (cache busters such as `_=123`) are ignored.
//!
//! The query string is read pair by pair with `form_urlencoded` (what axum's `Query` runs under
//! serde), keeping only the first value and a count per wanted name: no map, no owned strings
//! and no serde visitor per request on the gate's hottest path.

use std::borrow::Cow;

use axum::extract::{Form, FromRequest, Request};
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
        let mut seen = Seen::default();
        seen.add(borrowed(pairs));
        seen.ids()
    }
}

impl<S: Send + Sync> FromRequest<S> for GoodsUser {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let query = request.uri().query().unwrap_or_default();
        // A POST without a content type carries its parameters in the query string only.
        if request.method() != Method::POST || !request.headers().contains_key(header::CONTENT_TYPE)
        {
            let mut seen = Seen::default();
            seen.add(form_urlencoded::parse(query.as_bytes()));
            return seen.ids();
        }
        // A form: the query's pairs are kept while the body is read, then the body's follow.
        let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let Form(body) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
        let mut seen = Seen::default();
        seen.add(borrowed(&query));
        seen.add(borrowed(&body));
        seen.ids()
    }
}

fn borrowed(pairs: &[(String, String)]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    pairs
        .iter()
        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
}

/// The first value of each wanted parameter and how often it came, in the order the pairs
/// came (query first, then a form body).
#[derive(Default)]
struct Seen<'a> {
    goods_id: Param<'a>,
    user_id: Param<'a>,
}

#[derive(Default)]
struct Param<'a> {
    first: Option<Cow<'a, str>>,
    count: usize,
}

impl<'a> Seen<'a> {
    fn add(&mut self, pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) {
        for (name, value) in pairs {
            let param = match name.as_ref() {
                "goodsId" => &mut self.goods_id,
                "userId" => &mut self.user_id,
                _ => continue,
            };
            param.count += 1;
            if param.first.is_none() {
                param.first = Some(value);
            }
        }
    }

    /// Both ids, or the first problem: `goodsId`'s before `userId`'s.
    fn ids(&self) -> Result<GoodsUser, AppError> {
        Ok(GoodsUser {
            goods_id: single_id(&self.goods_id, "goodsId")?,
            user_id: single_id(&self.user_id, "userId")?,
        })
    }
}

fn single_id(param: &Param<'_>, name: &str) -> Result<i64, AppError> {
    let Some(raw) = param.first.as_deref() else {
        return Err(AppError::BadRequest(format!("{name} is required")));
    };
    if param.count > 1 {
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
