//! Query strings.
//!
//! Both vendors' frameworks (Rails/Grape, Django) let the last occurrence of a repeated key win, and
//! both decode `+` as a space; [`QueryParams`] does the same.

use url::form_urlencoded;

/// The decoded pairs of a query string, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string (without the `?`).
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self { pairs }
    }

    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` was given at all.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// All pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Splits a comma-separated list, trimming blanks and dropping empty items.
pub fn split_csv(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins_and_plus_is_space() {
        let q = QueryParams::parse(Some("a=1&b=x+y&a=2&c=%2C"));
        assert_eq!(q.get("a"), Some("2"));
        assert_eq!(q.get("b"), Some("x y"));
        assert_eq!(q.get("c"), Some(","));
        assert_eq!(q.get("d"), None);
    }

    #[test]
    fn csv() {
        assert_eq!(split_csv(" 1, 2,,3 "), vec!["1", "2", "3"]);
        assert!(split_csv("").is_empty());
    }
}
