//! Request-body decoding into `serde_json::Value`.
//!
//! Payt accepts JSON and `application/x-www-form-urlencoded` bodies on the same operations, with
//! Rails/Rack nesting (`terms[][amount]=10&terms[][due_date]=2026-01-01`); paywise accepts JSON.
//! Both end up as one JSON value so that validation is written once per endpoint. Form values
//! stay strings; validators accept numbers given as strings where a form would send them.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};
use url::form_urlencoded;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The content type is not one the route accepts.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// The body is not valid JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The form body has keys whose nesting contradicts each other.
    #[error("invalid form body: {0}")]
    InvalidForm(String),
    /// The body holds more values, objects or nesting than [`JSON_LIMITS`] allows; refused
    /// before any value is built. The text says which limit and what to do.
    #[error("{0}")]
    TooComplex(String),
}

/// How much structure one request body may carry, checked by a scan of its bytes before any
/// `serde_json::Value` is built (a `Value` costs 32 bytes, an object's map some 600 more, so a
/// 10 MiB body of `[0,0,...]` or `[{},{},...]` would otherwise take 40 times its size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Values of every kind (scalars, arrays, objects; object keys do not count).
    pub max_values: usize,
    /// Objects among them.
    pub max_objects: usize,
    /// Arrays and objects nested inside each other.
    pub max_depth: usize,
}

/// The limits every JSON (and form) body of both mocks is held to: 200,000 values, of which
/// 20,000 objects, nested at most 64 deep. A bulk write of 1,000 invoices with five lines each
/// uses about 60,000 values and 7,000 objects.
pub const JSON_LIMITS: JsonLimits = JsonLimits {
    max_values: 200_000,
    max_objects: 20_000,
    max_depth: 64,
};

/// Checks `bytes` against `limits` without building anything: counts values, objects and depth
/// token by token. The scan does not validate the JSON (the parser that follows does); for bytes
/// that are not JSON its counts are merely some upper bound.
pub fn scan_json(bytes: &[u8], limits: JsonLimits) -> Result<(), BodyError> {
    let (mut values, mut objects, mut depth) = (0usize, 0usize, 0usize);
    // One bit per open container: set for an object. Depth is capped, so 64 bits would do;
    // a Vec keeps any `max_depth` correct.
    let mut in_object: Vec<bool> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    let too_many = |what: &str, max: usize| {
        BodyError::TooComplex(format!(
            "the body holds more than {max} {what}; a request may carry at most {} values, {} objects and {} levels of nesting: send fewer records per request",
            limits.max_values, limits.max_objects, limits.max_depth
        ))
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'{' | b'[' => {
                values += 1;
                depth += 1;
                if depth > limits.max_depth {
                    return Err(too_many("levels of nesting", limits.max_depth));
                }
                if b == b'{' {
                    objects += 1;
                    if objects > limits.max_objects {
                        return Err(too_many("objects", limits.max_objects));
                    }
                }
                in_object.push(b == b'{');
                expect_key = b == b'{';
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                in_object.pop();
                expect_key = false;
                i += 1;
            }
            b',' => {
                expect_key = in_object.last().copied().unwrap_or(false);
                i += 1;
            }
            b':' => {
                expect_key = false;
                i += 1;
            }
            b'"' => {
                if !expect_key {
                    values += 1;
                }
                expect_key = false;
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            _ => {
                // A number or a literal: one value, up to the next delimiter.
                values += 1;
                expect_key = false;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b',' | b':' | b']' | b'}' | b'"' | b'{' | b'[' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    i += 1;
                }
            }
        }
        if values > limits.max_values {
            return Err(too_many("values", limits.max_values));
        }
    }
    Ok(())
}

/// The kind of body a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` or `*+json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// No content type.
    Absent,
    /// Anything else.
    Other,
}

/// The most parts one multipart body may have (Django's default `DATA_UPLOAD_MAX_NUMBER_FIELDS`).
/// Every upload of both vendors sends two or three; the cap keeps a body of a million empty parts
/// from costing more than its bytes.
pub const MAX_MULTIPART_PARTS: usize = 1000;

/// The message for a multipart body with more than [`MAX_MULTIPART_PARTS`] parts; `expected`
/// names the parts the route reads.
pub fn too_many_parts(expected: &str) -> String {
    format!(
        "The multipart body has more than {MAX_MULTIPART_PARTS} parts; send only the parts this \
         operation reads ({expected})"
    )
}

/// The media type of the request (without parameters), lowercased.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Classifies the request's content type.
pub fn body_kind(headers: &HeaderMap) -> BodyKind {
    match media_type(headers).as_deref() {
        None | Some("") => BodyKind::Absent,
        Some("application/json") => BodyKind::Json,
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => BodyKind::Json,
        Some("application/x-www-form-urlencoded") => BodyKind::Form,
        Some("multipart/form-data") => BodyKind::Multipart,
        Some(_) => BodyKind::Other,
    }
}

/// The whole body of `req`. Only a body over the size limit is
/// [`CoreError::PayloadTooLarge`](crate::error::CoreError::PayloadTooLarge) (413); one that cannot
/// be read for another reason (the client went away, the body stream failed) is
/// [`CoreError::BadRequest`](crate::error::CoreError::BadRequest) with the reason.
pub async fn read_bytes<S: Send + Sync>(
    req: axum::extract::Request,
    state: &S,
) -> Result<axum::body::Bytes, crate::CoreError> {
    use axum::extract::FromRequest;
    use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
    match axum::body::Bytes::from_request(req, state).await {
        Ok(bytes) => Ok(bytes),
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            Err(crate::CoreError::PayloadTooLarge(crate::server::DEFAULT_BODY_LIMIT))
        }
        Err(e) => Err(crate::CoreError::BadRequest(format!(
            "The request body could not be read ({}); send the whole body Content-Length announces",
            e.body_text()
        ))),
    }
}

/// Decodes a JSON body, first held to [`JSON_LIMITS`] by [`scan_json`].
pub fn parse_json(bytes: &[u8]) -> Result<Value, BodyError> {
    scan_json(bytes, JSON_LIMITS)?;
    serde_json::from_slice(bytes).map_err(|e| BodyError::InvalidJson(e.to_string()))
}

/// Decodes a JSON or form body; `allow_form` says whether the route takes forms.
///
/// An empty body without a content type is an empty object. A body without a content type is read
/// as JSON if it looks like JSON and as a form otherwise (what Rack does for a form).
pub fn parse_body(headers: &HeaderMap, bytes: &[u8], allow_form: bool) -> Result<Value, BodyError> {
    match body_kind(headers) {
        BodyKind::Json => parse_json(bytes),
        BodyKind::Form if allow_form => parse_rack_form(bytes),
        BodyKind::Absent => {
            let trimmed = bytes.trim_ascii_start();
            if trimmed.is_empty() {
                Ok(Value::Object(Map::new()))
            } else if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
                parse_json(bytes)
            } else if allow_form {
                parse_rack_form(bytes)
            } else {
                parse_json(bytes)
            }
        }
        _ => Err(BodyError::UnsupportedMediaType(media_type(headers).unwrap_or_default())),
    }
}

/// Decodes a form body with Rack's nesting rules into a JSON object.
///
/// `a[b]=1` nests, `a[]=1&a[]=2` builds an array, `a[][x]=1&a[][y]=2&a[][x]=3` builds an array of
/// objects (a new object starts when a key repeats), and objects whose keys are all integers
/// (`a[0][x]=1`, as Node's `qs` writes them) become arrays in key order.
///
/// A form is held to [`JSON_LIMITS`] too: at most `max_values` pairs (counted before anything is
/// built) and `max_objects` nested objects (counted as they are built).
pub fn parse_rack_form(bytes: &[u8]) -> Result<Value, BodyError> {
    let pairs = bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()).count();
    if pairs > JSON_LIMITS.max_values {
        return Err(BodyError::TooComplex(format!(
            "the form holds {pairs} parameters; a request may carry at most {}: send fewer records per request",
            JSON_LIMITS.max_values
        )));
    }
    let mut root = Map::new();
    let mut objects = 0usize;
    for (name, value) in form_urlencoded::parse(bytes) {
        normalize(&mut root, &name, Value::String(value.into_owned()), 0, &mut objects)?;
    }
    let mut out = Value::Object(root);
    indexed_objects_to_arrays(&mut out);
    Ok(out)
}

fn split_head(name: &str) -> (&str, &str) {
    let trimmed = name.trim_start_matches(['[', ']']);
    let end = trimmed.find(['[', ']']).unwrap_or(trimmed.len());
    let key = &trimmed[..end];
    let mut after = &trimmed[end..];
    // Rack drops the `]` that closes the key itself.
    if after.starts_with(']') {
        after = &after[1..];
    }
    (key, after)
}

fn normalize(
    params: &mut Map<String, Value>,
    name: &str,
    v: Value,
    depth: usize,
    objects: &mut usize,
) -> Result<(), BodyError> {
    if *objects > JSON_LIMITS.max_objects {
        return Err(BodyError::TooComplex(format!(
            "the form builds more than {} objects; a request may carry at most {}: send fewer records per request",
            JSON_LIMITS.max_objects, JSON_LIMITS.max_objects
        )));
    }
    if depth > 32 {
        return Err(BodyError::InvalidForm(format!("{name} is nested too deeply")));
    }
    let (k, after) = split_head(name);
    if k.is_empty() {
        return Ok(());
    }
    if after.is_empty() {
        params.insert(k.to_string(), v);
    } else if after == "[" {
        params.insert(name.to_string(), v);
    } else if after == "[]" {
        let slot = params.entry(k.to_string()).or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(items) = slot else {
            return Err(conflict(k));
        };
        items.push(v);
    } else if let Some(child) = after.strip_prefix("[]") {
        let child_key = child
            .strip_prefix('[')
            .and_then(|c| c.strip_suffix(']'))
            .filter(|c| !c.contains(['[', ']']))
            .unwrap_or(child);
        let slot = params.entry(k.to_string()).or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(items) = slot else {
            return Err(conflict(k));
        };
        match items.last_mut() {
            Some(Value::Object(last)) if !has_key(last, child_key) => {
                normalize(last, child_key, v, depth + 1, objects)?;
            }
            _ => {
                *objects += 1;
                let mut fresh = Map::new();
                normalize(&mut fresh, child_key, v, depth + 1, objects)?;
                items.push(Value::Object(fresh));
            }
        }
    } else {
        let slot = params.entry(k.to_string()).or_insert_with(|| {
            *objects += 1;
            Value::Object(Map::new())
        });
        let Value::Object(child) = slot else {
            return Err(conflict(k));
        };
        normalize(child, after, v, depth + 1, objects)?;
    }
    Ok(())
}

fn has_key(map: &Map<String, Value>, key: &str) -> bool {
    if key.contains("[]") {
        return false;
    }
    let mut cur = map;
    let parts: Vec<&str> = key.split(['[', ']']).filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        match cur.get(*part) {
            Some(Value::Object(next)) if i + 1 < parts.len() => cur = next,
            Some(_) if i + 1 == parts.len() => return true,
            _ => return false,
        }
    }
    !parts.is_empty()
}

fn conflict(k: &str) -> BodyError {
    BodyError::InvalidForm(format!("conflicting types for parameter {k}"))
}

fn indexed_objects_to_arrays(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                indexed_objects_to_arrays(child);
            }
            if !map.is_empty()
                && map
                    .keys()
                    .all(|k| !k.is_empty() && k.len() < 10 && k.bytes().all(|b| b.is_ascii_digit()))
            {
                let mut entries: Vec<(u64, Value)> = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(u64::MAX), v))
                    .collect();
                entries.sort_by_key(|(i, _)| *i);
                *v = Value::Array(entries.into_iter().map(|(_, v)| v).collect());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(indexed_objects_to_arrays),
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn form(s: &str) -> Value {
        parse_rack_form(s.as_bytes()).expect("valid form")
    }

    #[test]
    fn rack_nesting() {
        assert_eq!(
            form("a=1&b[c]=2&b[d][]=3&b[d][]=4"),
            json!({"a":"1","b":{"c":"2","d":["3","4"]}})
        );
        assert_eq!(
            form("terms[][amount]=10&terms[][due_date]=2026-01-01&terms[][amount]=20&terms[][due_date]=2026-02-01"),
            json!({"terms":[{"amount":"10","due_date":"2026-01-01"},{"amount":"20","due_date":"2026-02-01"}]})
        );
        assert_eq!(
            form("terms[0][amount]=1&terms[1][amount]=2&terms[0][due_date]=x"),
            json!({"terms":[{"amount":"1","due_date":"x"},{"amount":"2"}]})
        );
        assert_eq!(
            form("administration[name]=A+B"),
            json!({"administration":{"name":"A B"}})
        );
    }

    #[test]
    fn rack_conflicts_are_errors() {
        assert!(parse_rack_form(b"a=1&a[b]=2").is_err());
        assert!(parse_rack_form(b"a[]=1&a[b]=2").is_err());
    }

    #[test]
    fn scan_counts_values_objects_and_depth() {
        let limits = JsonLimits {
            max_values: 10,
            max_objects: 3,
            max_depth: 3,
        };
        // Keys do not count; strings with escaped quotes and brackets are one value.
        assert!(scan_json(br#"{"a":[1,2,3],"b":{"c":"x\"]}"},"d":null}"#, limits).is_ok());
        assert!(scan_json(b"[0,0,0,0,0,0,0,0,0,0]", limits).is_err());
        assert!(scan_json(b"[{},{},{}]", limits).is_ok());
        assert!(scan_json(b"[{},{},{},{}]", limits).is_err());
        assert!(scan_json(b"[[[1]]]", limits).is_ok());
        assert!(scan_json(b"[[[[1]]]]", limits).is_err());
        let big = format!("[{}0]", "0,".repeat(JSON_LIMITS.max_values));
        assert!(matches!(parse_json(big.as_bytes()), Err(BodyError::TooComplex(_))));
        let objects = format!("{{\"a\":[{}{{}}]}}", "{},".repeat(JSON_LIMITS.max_objects));
        assert!(matches!(parse_json(objects.as_bytes()), Err(BodyError::TooComplex(_))));
    }

    #[test]
    fn forms_are_held_to_the_limits() {
        let pairs = "a[]=1&".repeat(JSON_LIMITS.max_values + 1);
        assert!(matches!(
            parse_rack_form(pairs.as_bytes()),
            Err(BodyError::TooComplex(_))
        ));
        let objects = "t[][x]=1&".repeat(JSON_LIMITS.max_objects + 2);
        assert!(matches!(
            parse_rack_form(objects.as_bytes()),
            Err(BodyError::TooComplex(_))
        ));
        assert!(parse_rack_form("t[][x]=1&".repeat(1000).as_bytes()).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let name = "a".to_string() + &"[b]".repeat(200);
        assert!(parse_rack_form(format!("{name}=1").as_bytes()).is_err());
    }

    #[tokio::test]
    async fn only_a_body_over_the_limit_is_too_large() {
        use axum::body::{Body, Bytes};
        use axum::extract::Request;
        let limited = |body: Body| {
            let req = Request::builder().uri("/").body(body).expect("request");
            let req = req.map(|b| Body::new(http_body_util::Limited::new(b, 8)));
            async move { read_bytes(req, &()).await }
        };
        assert_eq!(
            limited(Body::from("12345678")).await.ok(),
            Some(Bytes::from("12345678"))
        );
        assert!(matches!(
            limited(Body::from("123456789")).await,
            Err(crate::CoreError::PayloadTooLarge(_))
        ));
        match limited(Body::new(Broken(false))).await {
            Err(crate::CoreError::BadRequest(m)) => assert!(m.contains("could not be read"), "{m}"),
            other => panic!("a 400, not {other:?}"),
        }
    }

    /// A body that fails after its first chunk, as when the client goes away.
    pub(crate) struct Broken(pub(crate) bool);

    impl http_body::Body for Broken {
        type Data = axum::body::Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            let first = !self.0;
            self.0 = true;
            std::task::Poll::Ready(Some(if first {
                Ok(http_body::Frame::data(axum::body::Bytes::from("ab")))
            } else {
                Err(std::io::Error::other("the client went away"))
            }))
        }
    }

    /// Rack's `build_nested_query`, the reference the decoder must agree with: a hash nests as
    /// `prefix[key]`, an array as `prefix[]`, a string is `name=value`, names and values escaped
    /// as `application/x-www-form-urlencoded` (brackets too, as Rack's `escape` does).
    fn build_nested_query(value: &Value, prefix: Option<&str>) -> Vec<String> {
        let esc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        match value {
            Value::Object(map) => map
                .iter()
                .flat_map(|(k, v)| {
                    let name = prefix.map_or_else(|| k.clone(), |p| format!("{p}[{k}]"));
                    build_nested_query(v, Some(&name))
                })
                .collect(),
            Value::Array(items) => {
                let name = format!("{}[]", prefix.unwrap_or_default());
                items.iter().flat_map(|v| build_nested_query(v, Some(&name))).collect()
            }
            Value::String(s) => vec![format!("{}={}", esc(prefix.unwrap_or_default()), esc(s))],
            other => vec![format!(
                "{}={}",
                esc(prefix.unwrap_or_default()),
                esc(&other.to_string())
            )],
        }
    }

    /// Keys Rack keeps as they are: letters and underscores (no brackets; not all digits, which
    /// the decoder reads as an index, as Node's `qs` writes arrays).
    fn key() -> impl proptest::strategy::Strategy<Value = String> {
        "[a-z_]{1,6}"
    }

    /// Any text, with the characters forms must escape (`&`, `=`, `+`, `%`, brackets) often.
    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            "[a-z0-9 &=+%\\[\\]#?/;]{0,8}",
            any::<String>().prop_map(|s| s.chars().take(8).collect()),
        ]
    }

    /// The bodies Rack round-trips: nested hashes, arrays of strings, and arrays of hashes that
    /// all have the same keys (a new hash starts when a key repeats); no empty hash or array,
    /// which the encoding cannot carry.
    fn form_value(depth: u32) -> proptest::strategy::BoxedStrategy<Value> {
        use proptest::prelude::*;
        let leaf = text().prop_map(Value::String).boxed();
        if depth == 0 {
            return leaf;
        }
        let strings = prop::collection::vec(text().prop_map(Value::String), 1..4)
            .prop_map(Value::Array)
            .boxed();
        let records = (prop::collection::btree_set(key(), 1..4), 1..4usize)
            .prop_flat_map(|(keys, n)| {
                let keys: Vec<String> = keys.into_iter().collect();
                prop::collection::vec(prop::collection::vec(text(), keys.len()), n).prop_map(move |rows| {
                    Value::Array(
                        rows.into_iter()
                            .map(|row| {
                                Value::Object(keys.iter().cloned().zip(row.into_iter().map(Value::String)).collect())
                            })
                            .collect(),
                    )
                })
            })
            .boxed();
        let nested = prop::collection::btree_map(key(), form_value(depth - 1), 1..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
            .boxed();
        prop_oneof![3 => leaf, 1 => strings, 1 => records, 1 => nested].boxed()
    }

    proptest::proptest! {
        #[test]
        fn the_form_decoder_agrees_with_racks_encoding(
            body in proptest::collection::btree_map(key(), form_value(3), 1..5)
        ) {
            let body = Value::Object(body.into_iter().collect());
            let encoded = build_nested_query(&body, None).join("&");
            let decoded = parse_rack_form(encoded.as_bytes());
            proptest::prop_assert_eq!(decoded.as_ref().ok(), Some(&body), "{}", encoded);
        }
    }
}
