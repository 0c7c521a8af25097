//! How Payt writes ids, money and timestamps.
//!
//! - Ids are JSON strings (`"123"`), as the spec types them and its examples show.
//! - Money is a string with exactly two decimals (`"5182.00"`).
//! - Timestamps are UTC ISO 8601 with seconds and `Z` (`2023-11-07T05:31:56Z`), dates `YYYY-MM-DD`.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serializer;

/// Serializes an id as a string.
pub mod id {
    use super::*;
    /// Writes `v` as a JSON string.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
}

/// Serializes an optional id as a string or `null`.
pub mod opt_id {
    use super::*;
    /// Writes `v` as a JSON string or `null`.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
}

/// Serializes money as a two-decimal string.
pub mod money {
    use super::*;
    /// Writes `v` with exactly two decimals.
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&two_decimals(*v))
    }
}

/// Serializes optional money as a two-decimal string or `null`.
pub mod opt_money {
    use super::*;
    /// Writes `v` with exactly two decimals, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(&two_decimals(*v)),
            None => s.serialize_none(),
        }
    }
}

/// Serializes a timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
pub mod ts {
    use super::*;
    /// Writes `v` in Payt's timestamp format.
    pub fn serialize<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&timestamp(v))
    }
}

/// Serializes an optional timestamp, `null` when unset.
pub mod opt_ts {
    use super::*;
    /// Writes `v` in Payt's timestamp format, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&timestamp(v)),
            None => s.serialize_none(),
        }
    }
}

/// `v` rounded half away from zero to two decimals, always showing both.
pub fn two_decimals(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// `v` as Payt writes timestamps.
pub fn timestamp(v: &DateTime<Utc>) -> String {
    v.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `now` truncated to whole seconds, which is all Payt's timestamps carry.
pub fn whole_seconds(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(two_decimals(Decimal::new(1000, 0)).to_string(), "1000.00");
        assert_eq!(two_decimals(Decimal::new(-6005, 1)).to_string(), "-600.50");
        assert_eq!(two_decimals(Decimal::new(12345, 3)).to_string(), "12.35");
    }

    #[test]
    fn timestamps_have_seconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2023-11-07T05:31:56.789+00:00")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(timestamp(&whole_seconds(t)), "2023-11-07T05:31:56Z");
    }
}
