//! Path patterns for the control plane: which requests a fault rule or a journal query means.
//!
//! A pattern is a path with two wildcards: `*` matches any run of characters within one segment
//! (no `/`), `**` any run of characters, slashes included. `/v1/invoices/*` matches
//! `/v1/invoices/42` but not `/v1/invoices/42/payments`; `/v1/**` matches every path under
//! `/v1/`; `**` matches everything. Matching is case-sensitive, as paths are, and ignores the
//! query string (match it separately).

/// A parsed path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
}

impl PathPattern {
    /// The pattern `source`; it must start with `/` or be `**`.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.is_empty() {
            return Err("a path pattern may not be empty; use ** for every path".into());
        }
        if !(source.starts_with('/') || source.starts_with("**")) {
            return Err(format!("path pattern {source:?} must start with / (or be **)"));
        }
        if source.len() > 1024 {
            return Err("a path pattern may be at most 1024 characters long".into());
        }
        Ok(Self {
            source: source.to_string(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `path` (without its query) matches.
    pub fn matches(&self, path: &str) -> bool {
        glob(self.source.as_bytes(), path.as_bytes())
    }
}

impl Default for PathPattern {
    fn default() -> Self {
        Self { source: "**".into() }
    }
}

impl serde::Serialize for PathPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for PathPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Iterative glob matching with backtracking to the last wildcard: linear in practice, and never
/// exponential (each wildcard kind keeps one backtrack point).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    // Backtrack points: (pattern index after the wildcard, string index it was tried at).
    let mut star: Option<(usize, usize)> = None;
    let mut double: Option<(usize, usize)> = None;
    while si < s.len() {
        if p[pi..].starts_with(b"**") {
            double = Some((pi + 2, si));
            star = None;
            pi += 2;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi + 1, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star.filter(|&(_, ss)| s[ss] != b'/') {
            // `*` takes one more character of this segment.
            star = Some((sp, ss + 1));
            pi = sp;
            si = ss + 1;
        } else if let Some((dp, ds)) = double {
            // `**` takes one more character, whatever it is.
            double = Some((dp, ds + 1));
            star = None;
            pi = dp;
            si = ds + 1;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        PathPattern::parse(p).expect("valid").matches(s)
    }

    #[test]
    fn single_star_stays_in_its_segment() {
        assert!(m("/v1/invoices/*", "/v1/invoices/42"));
        assert!(!m("/v1/invoices/*", "/v1/invoices/42/payments"));
        assert!(m("/v1/*/payments", "/v1/42/payments"));
        assert!(m("/v1/invoices*", "/v1/invoices"));
        assert!(m("/v1/claims/*/", "/v1/claims/abc/"));
        assert!(!m("/v1/claims/*/", "/v1/claims/abc"));
    }

    #[test]
    fn double_star_crosses_segments() {
        assert!(m("**", "/anything/at/all"));
        assert!(m("/v1/**", "/v1/invoices/42/payments"));
        assert!(!m("/v1/**", "/api/v1/invoices"));
        assert!(m("**/payments", "/v1/invoices/42/payments"));
        assert!(m("/v1/**/x/*", "/v1/a/b/x/c"));
        assert!(!m("/v1/**/x/*", "/v1/a/b/x/c/d"));
    }

    #[test]
    fn literal_paths_match_exactly() {
        assert!(m("/v1/invoices", "/v1/invoices"));
        assert!(!m("/v1/invoices", "/v1/invoices/"));
        assert!(!m("/v1/invoices", "/v1/invoice"));
    }

    #[test]
    fn bad_patterns_say_what_to_fix() {
        assert!(PathPattern::parse("").is_err());
        assert!(PathPattern::parse("v1/x").is_err_and(|e| e.contains("must start with /")));
    }

    #[test]
    fn many_wildcards_do_not_blow_up() {
        let p = "/**".repeat(20) + "/z";
        let s = "/a".repeat(200);
        assert!(!m(&p, &s));
    }
}
