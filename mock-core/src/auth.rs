//! Bearer-token authentication shared by both mocks.
//!
//! [`bearer_token`] reads the token from the `Authorization` header; a vendor keeps a
//! [`TokenRegistry`] that maps each known token to what it grants (administrations and scopes for
//! Payt, company and access mode for paywise) and renders failures in its own shape.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::error::AuthFailure;

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    credentials(headers, "bearer")
}

/// The credentials after `scheme` in the `Authorization` header.
pub fn credentials<'h>(headers: &'h HeaderMap, scheme: &str) -> Result<&'h str, AuthFailure> {
    let value = headers.get(AUTHORIZATION).ok_or(AuthFailure::Missing)?;
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
    let (got, rest) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    let rest = rest.trim();
    if !got.eq_ignore_ascii_case(scheme) || rest.is_empty() || rest.contains(' ') {
        return Err(AuthFailure::Malformed);
    }
    Ok(rest)
}

/// Known tokens and what each grants.
#[derive(Debug)]
pub struct TokenRegistry<P> {
    tokens: RwLock<HashMap<String, P>>,
}

impl<P: Clone> Default for TokenRegistry<P> {
    fn default() -> Self {
        Self {
            tokens: RwLock::new(HashMap::new()),
        }
    }
}

impl<P: Clone> TokenRegistry<P> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) `token`.
    pub fn insert(&self, token: impl Into<String>, grant: P) {
        self.tokens
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.into(), grant);
    }

    /// What `token` grants.
    pub fn get(&self, token: &str) -> Option<P> {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }

    /// Every token and its grant, sorted by token (a world's snapshot).
    pub fn entries(&self) -> std::collections::BTreeMap<String, P> {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Replaces every token with `entries` (a world's restore).
    pub fn replace(&self, entries: impl IntoIterator<Item = (String, P)>) {
        *self.tokens.write().unwrap_or_else(PoisonError::into_inner) = entries.into_iter().collect();
    }

    /// Authenticates the request's bearer token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<P, AuthFailure> {
        let token = bearer_token(headers)?;
        self.get(token).ok_or(AuthFailure::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).expect("ascii"));
        h
    }

    #[test]
    fn parses_bearer() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(&headers("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), Err(AuthFailure::Malformed));
        assert_eq!(bearer_token(&headers("Bearer")), Err(AuthFailure::Malformed));
        assert_eq!(bearer_token(&HeaderMap::new()), Err(AuthFailure::Missing));
    }

    #[test]
    fn registry_knows_its_tokens() {
        let r = TokenRegistry::new();
        r.insert("t1", 5u8);
        assert_eq!(r.authenticate(&headers("Bearer t1")), Ok(5));
        assert_eq!(r.authenticate(&headers("Bearer t2")), Err(AuthFailure::Unknown));
    }
}
