//! Query parameters shared by Payt's list and show endpoints.
//!
//! Every list takes `administration_id` (required), `cursor`, `per_page` (1..500, default 100),
//! `fields` and most take `ids` and `updated_after`. A missing or malformed parameter is a 400 that
//! names it (`reference/payt.md` section 6, O2).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mock_core::query::{QueryParams, split_csv};

use crate::error::PaytError;
use crate::fields::Fields;

/// The default page size.
pub(crate) const DEFAULT_PER_PAGE: usize = 100;
/// The largest page size.
pub(crate) const MAX_PER_PAGE: usize = 500;

/// Parses an id given as a string or a number (`"81"`, `81`).
pub(crate) fn parse_id(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    raw.parse::<u64>().ok().or_else(|| {
        // JSON-ish numbers such as `81.0` are accepted; anything else is not an id.
        raw.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15)
            .map(|f| f as u64)
    })
}

/// The required `administration_id` query parameter.
pub fn administration_id(q: &QueryParams) -> Result<u64, PaytError> {
    let raw = q
        .get("administration_id")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| PaytError::missing("administration_id"))?;
    parse_id(raw).ok_or_else(|| {
        PaytError::invalid(
            "administration_id",
            "is invalid: expected an administration id such as 81",
        )
    })
}

/// Cursor and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// The id after which the page starts.
    pub cursor: Option<u64>,
    /// Records per page.
    pub per_page: usize,
}

impl Paging {
    /// Reads `cursor` and `per_page`.
    pub fn parse(q: &QueryParams) -> Result<Self, PaytError> {
        let per_page = match q.get("per_page").map(str::trim) {
            None | Some("") => DEFAULT_PER_PAGE,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_PER_PAGE as i64).contains(&n) => n as usize,
                Ok(_) => {
                    return Err(PaytError::invalid(
                        "per_page",
                        format!("does not have a valid value: it must be between 1 and {MAX_PER_PAGE}"),
                    ));
                }
                Err(_) => return Err(PaytError::invalid("per_page", "is invalid: it must be an integer")),
            },
        };
        let cursor = match q.get("cursor").map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(parse_id(raw).ok_or_else(|| {
                PaytError::invalid(
                    "cursor",
                    "is invalid: pass the pagination.cursor value of the previous page",
                )
            })?),
        };
        Ok(Self { cursor, per_page })
    }
}

/// A comma-separated id filter (`ids`, `debtor_ids`, ...). Entries that are not ids can match no
/// record, so they are dropped; the filter then matches nothing rather than everything.
pub(crate) fn id_list(q: &QueryParams, name: &str) -> Option<HashSet<u64>> {
    let raw = q.get(name)?;
    Some(split_csv(raw).iter().filter_map(|s| parse_id(s)).collect())
}

/// A comma-separated string filter (`debtor_numbers`, ...).
pub(crate) fn string_list(q: &QueryParams, name: &str) -> Option<HashSet<String>> {
    q.get(name).map(|raw| split_csv(raw).into_iter().collect())
}

/// Parses an ISO 8601 timestamp as Payt's `updated_after` accepts it: with an offset or `Z`,
/// without one (read as UTC), or a bare date (midnight UTC).
pub(crate) fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Some(t.and_utc());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// An optional timestamp parameter such as `updated_after`.
pub fn timestamp(q: &QueryParams, name: &str) -> Result<Option<DateTime<Utc>>, PaytError> {
    match q.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => parse_timestamp(raw).map(Some).ok_or_else(|| {
            PaytError::invalid(
                name,
                "is invalid: expected an ISO 8601 UTC timestamp such as 2024-01-31T12:00:00Z",
            )
        }),
    }
}

/// The `fields` parameter.
pub fn fields(q: &QueryParams) -> Result<Fields, PaytError> {
    Fields::parse(q.get("fields"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryParams {
        QueryParams::parse(Some(s))
    }

    #[test]
    fn administration_id_is_required_and_numeric() {
        assert!(matches!(
            administration_id(&q("")),
            Err(PaytError::BadParameter {
                code: "missing_parameter",
                ..
            })
        ));
        assert!(matches!(
            administration_id(&q("administration_id=abc")),
            Err(PaytError::BadParameter {
                code: "invalid_parameter",
                ..
            })
        ));
        assert_eq!(administration_id(&q("administration_id=81")), Ok(81));
    }

    #[test]
    fn per_page_bounds() {
        assert_eq!(Paging::parse(&q("")).map(|p| p.per_page), Ok(100));
        assert_eq!(Paging::parse(&q("per_page=500")).map(|p| p.per_page), Ok(500));
        for bad in ["per_page=0", "per_page=501", "per_page=x", "per_page=-1", "cursor=abc"] {
            assert!(Paging::parse(&q(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2024-01-31T12:00:00Z",
            "2024-01-31T12:00:00.5+01:00",
            "2024-01-31T12:00:00",
            "2024-01-31",
        ] {
            assert!(parse_timestamp(ok).is_some(), "{ok}");
        }
        for bad in ["yesterday", "2024-13-01", "", "2024-01-31T25:00:00Z"] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }
}
