//! Paging helpers shared by the vendors.
//!
//! Payt pages by cursor (see [`crate::store::Table::page_after`]); paywise pages the Django REST
//! Framework way, with `limit`/`offset` and absolute `next`/`previous` links. This module
//! reproduces DRF's `LimitOffsetPagination` exactly: a bad `limit` falls back to the default
//! instead of failing, a limit above the maximum is clamped, and links carry the request's other
//! query parameters, sorted by name as DRF's `replace_query_param` writes them.

use axum::http::header::HOST;
use axum::http::{HeaderMap, Uri};
use url::form_urlencoded;

/// The scheme and authority the client used, as `http://host:port`: what every absolute link a
/// mock writes is built on, so that no link leads anywhere but to the address the client called.
///
/// The scheme is `X-Forwarded-Proto` when it says `http` or `https` (anything else is ignored),
/// else `http`; the host is `X-Forwarded-Host`, else `Host`, else the request target's authority
/// (as HTTP/2 sends it), taking the first of a comma-separated list. `None` when none of them is
/// a plausible authority (letters, digits, `.-_:[]`, at most 255 bytes).
///
/// A request that reached a world through its base-URL prefix (`/_mock/w/{world}`, see
/// [`crate::world`]) carries the prefix in [`crate::world::BASE_PATH_HEADER`], set by the
/// dispatcher alone; it is appended, so every link keeps leading into the same world.
pub fn origin(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = header("x-forwarded-proto")
        .map(str::to_ascii_lowercase)
        .filter(|v| v == "http" || v == "https")
        .unwrap_or_else(|| "http".to_string());
    // The first candidate that is a valid authority: a forged `X-Forwarded-Host` falls back to
    // `Host`, never into a link.
    let host = [
        header("x-forwarded-host"),
        header(HOST.as_str()),
        uri.authority().map(|a| a.as_str()),
    ]
    .into_iter()
    .flatten()
    .find(|h| valid_authority(h))?;
    let base = headers
        .get(crate::world::BASE_PATH_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|b| {
            b.strip_prefix(crate::world::WORLD_PREFIX)
                .is_some_and(crate::world::valid_name)
        })
        .unwrap_or("");
    Some(format!("{scheme}://{host}{base}"))
}

/// Whether `host` is `name`, `name:port`, `ipv4[:port]` or `[ipv6][:port]` and nothing else: the
/// characters a JSON string takes as they are, and what the `url` crate parses back to the same
/// host and port with no user, path or query.
///
/// A request's host is the same as its connection's last one almost always, and parsing it is a
/// good part of a small answer's cost: each thread keeps the last host it checked and its verdict.
fn valid_authority(host: &str) -> bool {
    thread_local! {
        static LAST: std::cell::RefCell<(String, bool)> = const { std::cell::RefCell::new((String::new(), false)) };
    }
    LAST.with(|last| {
        if let Ok(last) = last.try_borrow()
            && !last.0.is_empty()
            && last.0 == host
        {
            return last.1;
        }
        let verdict = check_authority(host);
        if let Ok(mut last) = last.try_borrow_mut() {
            last.0.clear();
            last.0.push_str(host);
            last.1 = verdict;
        }
        verdict
    })
}

/// [`valid_authority`] without the memo.
fn check_authority(host: &str) -> bool {
    if host.is_empty()
        || host.len() > 255
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'))
    {
        return false;
    }
    let Ok(url) = url::Url::parse(&format!("http://{host}/")) else {
        return false;
    };
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && (!name.starts_with('[') || name.ends_with(']')) => {
            (name, Some(port))
        }
        _ => (host, None),
    };
    url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(name))
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| url.port_or_known_default() == Some(p)))
}

/// [`origin`] of a request whose target carries no authority, `http://localhost` when the headers
/// give none.
pub fn request_origin(headers: &HeaderMap) -> String {
    origin(headers, &Uri::from_static("/")).unwrap_or_else(|| "http://localhost".to_string())
}

/// DRF's positive-integer parsing: `None` for anything but a positive integer (or zero, where
/// allowed).
fn positive_int(raw: Option<&str>, allow_zero: bool) -> Option<usize> {
    let n: usize = raw?.trim().parse().ok()?;
    if n == 0 && !allow_zero { None } else { Some(n) }
}

/// The page size DRF would use for `raw` (the `limit` parameter).
pub fn drf_limit(raw: Option<&str>, default: usize, max: usize) -> usize {
    positive_int(raw, false).map_or(default, |n| n.min(max))
}

/// The offset DRF would use for `raw` (the `offset` parameter).
pub fn drf_offset(raw: Option<&str>) -> usize {
    positive_int(raw, true).unwrap_or(0)
}

/// The `next` and `previous` links of a DRF limit/offset page.
///
/// `base` is the absolute URL of the request without its query, `pairs` its query pairs.
pub fn drf_links(
    base: &str,
    pairs: &[(String, String)],
    offset: usize,
    limit: usize,
    count: usize,
) -> (Option<String>, Option<String>) {
    let next = (offset.saturating_add(limit) < count)
        .then(|| link(base, pairs, &[("limit", Some(limit)), ("offset", Some(offset + limit))]));
    let previous = (offset > 0).then(|| {
        if offset <= limit {
            link(base, pairs, &[("limit", Some(limit)), ("offset", None)])
        } else {
            link(base, pairs, &[("limit", Some(limit)), ("offset", Some(offset - limit))])
        }
    });
    (next, previous)
}

fn link(base: &str, pairs: &[(String, String)], set: &[(&str, Option<usize>)]) -> String {
    let mut kept: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .cloned()
        .collect();
    for (k, v) in set {
        if let Some(v) = v {
            kept.push(((*k).to_string(), v.to_string()));
        }
    }
    // DRF: urlencode(sorted(query_dict.items()), doseq=True) -- stable sort by key.
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    if query.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn limits_follow_drf() {
        assert_eq!(drf_limit(None, 100, 1000), 100);
        assert_eq!(drf_limit(Some("abc"), 100, 1000), 100);
        assert_eq!(drf_limit(Some("0"), 100, 1000), 100);
        assert_eq!(drf_limit(Some("-5"), 100, 1000), 100);
        assert_eq!(drf_limit(Some("5000"), 100, 1000), 1000);
        assert_eq!(drf_limit(Some("7"), 100, 1000), 7);
        assert_eq!(drf_offset(Some("x")), 0);
        assert_eq!(drf_offset(Some("0")), 0);
        assert_eq!(drf_offset(Some("30")), 30);
    }

    #[test]
    fn links_like_drf() {
        let base = "http://h/v1/claims/";
        let q = pairs(&[("submission_state", "created"), ("limit", "10"), ("offset", "10")]);
        let (next, prev) = drf_links(base, &q, 10, 10, 25);
        assert_eq!(
            next.as_deref(),
            Some("http://h/v1/claims/?limit=10&offset=20&submission_state=created")
        );
        assert_eq!(
            prev.as_deref(),
            Some("http://h/v1/claims/?limit=10&submission_state=created")
        );
        let (next, prev) = drf_links(base, &[], 20, 10, 25);
        assert_eq!(next, None);
        assert_eq!(prev.as_deref(), Some("http://h/v1/claims/?limit=10&offset=10"));
        let (next, prev) = drf_links(base, &[], 0, 10, 5);
        assert_eq!((next, prev), (None, None));
    }

    #[test]
    fn origin_from_headers() {
        let mut h = HeaderMap::new();
        h.insert(HOST, "127.0.0.1:9".parse().expect("valid"));
        assert_eq!(request_origin(&h), "http://127.0.0.1:9");
        h.insert("x-forwarded-proto", "https".parse().expect("valid"));
        h.insert("x-forwarded-host", "api.example".parse().expect("valid"));
        assert_eq!(request_origin(&h), "https://api.example");
    }

    #[test]
    fn the_remembered_host_gives_each_host_its_own_verdict() {
        // The same host twice (the memo's answer), then another, in every order.
        for (a, b) in [
            ("mocks.test:8443", "user@evil.example"),
            ("evil.example:99999", "10.0.0.2"),
        ] {
            for host in [a, a, b, b, a, b] {
                assert_eq!(valid_authority(host), check_authority(host), "{host}");
            }
        }
        assert!(valid_authority("mocks.test:8443") && !valid_authority("user@evil.example"));
    }

    #[test]
    fn forged_forwarding_headers_never_reach_a_link() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            h.insert(HOST, "127.0.0.1:9".parse().expect("valid"));
            for (k, v) in pairs {
                h.insert(*k, v.parse().expect("valid"));
            }
            request_origin(&h)
        };
        // Only http and https are schemes.
        for proto in ["javascript", "file", "gopher", "https:", ""] {
            assert_eq!(with(&[("x-forwarded-proto", proto)]), "http://127.0.0.1:9", "{proto}");
        }
        // A host that is not an authority falls back to Host.
        for host in [
            "evil.example/path",
            "user@evil.example",
            "evil.example:99999",
            "evil.example:port",
            "a:b:c",
            "[::1",
            "1.2.3",
            "\"quote",
            "e vil",
        ] {
            assert_eq!(with(&[("x-forwarded-host", host)]), "http://127.0.0.1:9", "{host}");
        }
        for host in ["mocks.test:8443", "[::1]:8080", "10.0.0.2", "Mocks.Test"] {
            assert_eq!(with(&[("x-forwarded-host", host)]), format!("http://{host}"), "{host}");
        }
        // Nothing valid at all: no origin.
        let mut h = HeaderMap::new();
        h.insert(HOST, "bad/host".parse().expect("valid"));
        assert_eq!(origin(&h, &Uri::from_static("/")), None);
    }
}
