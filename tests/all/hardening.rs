//! The hardening suite (issue 16): random and malformed requests against every operation of both
//! mocks, and three properties that must hold for each of them:
//!
//! - no answer is a 5xx (and none hangs: every request has a deadline);
//! - every refusal (4xx) is JSON in the vendor's error shape: Payt `{code, message}`, paywise v1 a
//!   DRF error object (or list), paywise v2 `{code, detail, errors[]}`;
//! - a refused request changes nothing: the world's store revision is the same after it.
//!
//! The operations are those of the specs the mocks are checked against: Payt's own OpenAPI file,
//! the contract files of paywise v1 and v2, and paywise's own v1 files (Case Management and
//! Partner, `mock-paywise/spec/`), all in this repository. For each case proptest picks
//! an operation, fills its path parameters with real fixture ids or hostile segments (`%FF`,
//! `..`, 40 digits, `-1`, `%00`, spaces), adds query parameters the operation knows or not with
//! hostile values, picks a content type and an authorization (valid, invalid, none), and a body:
//! none, random bytes, truncated JSON, random JSON, or an object with the operation's own
//! property names and random values of the wrong kinds.
//!
//! The mocks run in-process on the frozen test clock. `HARDENING_CASES` sets the number of cases
//! per vendor (CI: the default, 256; a long local run: `HARDENING_CASES=20000 cargo test --release
//! --test all hardening:: -- --nocapture`, which prints a summary); the cases are drawn from a fixed
//! seed, `HARDENING_SEED` (0 by default) draws others.

use std::collections::BTreeMap;
use std::time::Duration;

use mock_payt::MockPayt;
use mock_paywise::MockPaywise;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Map, Value, json};

/// One operation of a spec: method, path template, query parameter names, body property names.
#[derive(Debug, Clone)]
struct Op {
    method: reqwest::Method,
    path: String,
    query: Vec<String>,
    properties: Vec<String>,
}

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `schema` with `$ref`s into `doc` followed (a few levels).
fn deref<'a>(doc: &'a Value, schema: &'a Value, depth: usize) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) if depth < 8 => {
            let pointer = r.trim_start_matches('#');
            doc.pointer(pointer).map_or(schema, |s| deref(doc, s, depth + 1))
        }
        _ => schema,
    }
}

/// Every property name `schema` mentions, nested ones included.
fn property_names(doc: &Value, schema: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 5 {
        return;
    }
    let schema = deref(doc, schema, 0);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            if !out.contains(name) {
                out.push(name.clone());
            }
            property_names(doc, sub, out, depth + 1);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = schema.get(key).filter(|s| s.is_object()) {
            property_names(doc, sub, out, depth + 1);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for sub in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            property_names(doc, sub, out, depth + 1);
        }
    }
}

fn operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let shared: Vec<Value> = item["parameters"].as_array().cloned().unwrap_or_default();
        for (method, op) in item.as_object().into_iter().flatten() {
            let Ok(m) = method.to_uppercase().parse::<reqwest::Method>() else {
                continue;
            };
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let params: Vec<Value> = shared
                .iter()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .map(|p| deref(doc, p, 0).clone())
                .collect();
            let query = params
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect();
            let mut properties = Vec::new();
            let body = deref(doc, &op["requestBody"], 0);
            for media in body["content"].as_object().into_iter().flatten().map(|(_, m)| m) {
                property_names(doc, &media["schema"], &mut properties, 0);
            }
            ops.push(Op {
                method: m,
                path: path.clone(),
                query,
                properties,
            });
        }
    }
    ops
}

/// A request as proptest draws it, before the operation's template is filled.
#[derive(Debug, Clone)]
struct Case {
    op: usize,
    segments: Vec<Segment>,
    query: Vec<(Name, String)>,
    content_type: Option<&'static str>,
    auth: Auth,
    body: Body,
    idempotency_key: bool,
    forwarded_proto: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum Segment {
    /// A fixture id (index into the pool).
    Real(usize),
    Hostile(String),
}

#[derive(Debug, Clone)]
enum Name {
    /// One of the operation's own parameters (index).
    Known(usize),
    Other(String),
}

#[derive(Debug, Clone, Copy)]
enum Auth {
    Valid,
    Invalid,
    None,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Bytes(Vec<u8>),
    Truncated(Value),
    Json(Value),
    /// The operation's own property names (indexes) with random values.
    Shaped(Vec<(usize, Value)>),
}

fn hostile_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("%FF".to_string()),
        Just("..".to_string()),
        Just("%00".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("9".repeat(40)),
        Just("1e9".to_string()),
        Just("%20".to_string()),
        Just("%E2%82%AC".to_string()),
        Just("00000000-0000-0000-0000-000000000000".to_string()),
        "[a-zA-Z0-9_.~-]{1,16}",
    ]
}

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("2026-13-45".to_string()),
        Just("2026-11-01T25:61:00Z".to_string()),
        Just("%FF".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("1.5".to_string()),
        Just("a,b,,c".to_string()),
        Just("x".repeat(3000)),
        "[ -~]{0,20}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(1e300)),
        Just(json!(-0.001)),
        Just(serde_json::from_str::<Value>("123456789012345678901234567890").unwrap_or(Value::Null)),
        Just(json!("2026-02-30")),
        Just(json!("DE00 0000")),
        "[ -~]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn case(ops: usize) -> impl Strategy<Value = Case> {
    let segment = prop_oneof![
        3 => (0..64usize).prop_map(Segment::Real),
        2 => hostile_segment().prop_map(Segment::Hostile),
    ];
    let name = prop_oneof![
        3 => (0..64usize).prop_map(Name::Known),
        1 => "[a-z_]{1,12}".prop_map(Name::Other),
    ];
    let query_value = prop_oneof![2 => hostile_value(), 1 => (0..64usize).prop_map(|n| n.to_string())];
    let body = prop_oneof![
        1 => Just(Body::None),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        1 => json_value().prop_map(Body::Truncated),
        2 => json_value().prop_map(Body::Json),
        4 => prop::collection::vec((0..64usize, json_value()), 0..8).prop_map(Body::Shaped),
    ];
    (
        0..ops,
        prop::collection::vec(segment, 3),
        prop::collection::vec((name, query_value), 0..4),
        prop_oneof![
            6 => Just(Some("application/json")),
            1 => Just(Some("application/x-www-form-urlencoded")),
            1 => Just(Some("text/plain")),
            1 => Just(Some("multipart/form-data")),
            1 => Just(None),
        ],
        prop_oneof![8 => Just(Auth::Valid), 1 => Just(Auth::Invalid), 1 => Just(Auth::None)],
        body,
        prop::bool::weighted(0.8),
        prop_oneof![6 => Just(None), 1 => Just(Some("javascript")), 1 => Just(Some("https"))],
    )
        .prop_map(
            |(op, segments, query, content_type, auth, body, idempotency_key, forwarded_proto)| Case {
                op,
                segments,
                query,
                content_type,
                auth,
                body,
                idempotency_key,
                forwarded_proto,
            },
        )
}

/// A built request: the URL path and query, and the body bytes.
struct Built {
    method: reqwest::Method,
    target: String,
    body: Option<Vec<u8>>,
}

fn build(op: &Op, c: &Case, pool: &[String]) -> Built {
    let mut target = String::new();
    let mut segments = c.segments.iter().cycle();
    let mut rest = op.path.as_str();
    while let Some(open) = rest.find('{') {
        target.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |i| open + i + 1);
        let value = match segments.next() {
            Some(Segment::Real(i)) if !pool.is_empty() => pool[i % pool.len()].clone(),
            Some(Segment::Hostile(s)) => s.clone(),
            _ => "1".to_string(),
        };
        target.push_str(&value);
        rest = &rest[close.min(rest.len())..];
    }
    target.push_str(rest);
    let pairs: Vec<String> = c
        .query
        .iter()
        .map(|(name, value)| {
            let name = match name {
                Name::Known(i) if !op.query.is_empty() => op.query[i % op.query.len()].clone(),
                Name::Known(_) => "page".to_string(),
                Name::Other(n) => n.clone(),
            };
            let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            format!("{name}={value}")
        })
        .collect();
    if !pairs.is_empty() {
        target.push('?');
        target.push_str(&pairs.join("&"));
    }
    let body = match &c.body {
        Body::None => None,
        Body::Bytes(b) => Some(b.clone()),
        Body::Truncated(v) => {
            let text = v.to_string();
            Some(text.as_bytes()[..text.len() / 2].to_vec())
        }
        Body::Json(v) => Some(v.to_string().into_bytes()),
        Body::Shaped(fields) => {
            let mut m = Map::new();
            for (i, v) in fields {
                if !op.properties.is_empty() {
                    m.insert(op.properties[i % op.properties.len()].clone(), v.clone());
                }
            }
            Some(Value::Object(m).to_string().into_bytes())
        }
    };
    Built {
        method: op.method.clone(),
        target,
        body,
    }
}

/// Which error shape an answer must have.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Payt,
    PaywiseV1,
    PaywiseV2,
}

fn check_shape(shape: Shape, status: u16, body: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("{status}: not JSON ({e}): {body:.200}"))?;
    let ok = match shape {
        Shape::Payt => v["code"].is_string() && v["message"].is_string(),
        Shape::PaywiseV1 => v.is_object() || v.is_array(),
        Shape::PaywiseV2 => v["code"].is_string() && v["detail"].is_string() && v["errors"].is_array(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{status}: not the {shape:?} error shape: {body:.300}"))
    }
}

/// What one vendor's run needs: where it is, and its world's store.
struct Target<'a, D> {
    /// The vendor's name in the summary.
    name: &'a str,
    base: String,
    token: String,
    ops: Vec<(Op, Shape)>,
    pool: Vec<String>,
    store: &'a mock_core::Store<D>,
    /// The database as lines to compare, without what a refusal may record (v2's idempotency
    /// keys, which remember a refusal so a retry gets the same answer).
    data: fn(&D) -> Vec<String>,
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    by_status: BTreeMap<u16, usize>,
}

/// This process's resident memory (`VmRSS`, kB), for the long run's summary.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn cases() -> u32 {
    std::env::var("HARDENING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn run<D: Clone>(rt: &tokio::runtime::Runtime, t: &Target<'_, D>) {
    let tally = std::sync::Mutex::new(Tally::default());
    let rss_start = rss_kb();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client");
    // A fixed seed (`HARDENING_SEED`, 0 by default), so a run is the same on every machine and day.
    let seed: u64 = std::env::var("HARDENING_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let result = runner.run(&case(t.ops.len()), |c| {
        let (op, shape) = &t.ops[c.op];
        let built = build(op, &c, &t.pool);
        let before = t.store.revision();
        // Cheap: tables share their rows.
        let copy = t.store.snapshot();
        let (status, text) = rt.block_on(async {
            let mut req = client.request(built.method.clone(), format!("{}{}", t.base, built.target));
            req = match c.auth {
                Auth::Valid => req.bearer_auth(&t.token),
                Auth::Invalid => req.bearer_auth("not-a-token"),
                Auth::None => req,
            };
            if let Some(ct) = c.content_type {
                req = req.header("content-type", ct);
            }
            if c.idempotency_key {
                req = req.header("idempotency-key", uuid_of(&built.target, c.op));
            }
            if let Some(p) = c.forwarded_proto {
                req = req.header("x-forwarded-proto", p);
            }
            if let Some(b) = built.body.clone() {
                req = req.body(b);
            }
            let res = req
                .send()
                .await
                .map_err(|e| TestCaseError::fail(format!("{} {}: {e}", built.method, built.target)))?;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            Ok::<_, TestCaseError>((status, text))
        })?;
        {
            let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
            tally.cases += 1;
            *tally.by_status.entry(status).or_default() += 1;
        }
        let what = format!("{} {}", built.method, built.target);
        prop_assert!(status < 500, "{what}: {status} {text:.300}");
        if status >= 400 {
            check_shape(*shape, status, &text).map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
            if t.store.revision() != before {
                let (was, is) = ((t.data)(&copy), (t.data)(&t.store.snapshot()));
                let changed: Vec<&str> = was
                    .iter()
                    .zip(&is)
                    .filter(|(a, b)| a != b)
                    .map(|(a, _)| a.split(':').next().unwrap_or_default())
                    .collect();
                prop_assert!(
                    changed.is_empty() && was.len() == is.len(),
                    "{}: refused with {} but changed {:?}",
                    what,
                    status,
                    changed
                );
            }
        }
        prop_assert!(
            !text.contains("javascript://"),
            "{what}: a javascript: link: {text:.300}"
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    println!(
        "{}: {:?}, resident memory {rss_start} kB at start, {} kB at the end",
        t.name,
        tally.lock().unwrap_or_else(|e| e.into_inner()),
        rss_kb()
    );
}

/// A UUID-looking idempotency key that differs per request.
fn uuid_of(target: &str, op: usize) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (target, op).hash(&mut h);
    let n = h.finish();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        n >> 32,
        n & 0xffff,
        n & 0xfff,
        (n >> 12) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Ids of the first records of some lists (the pool real path segments come from).
async fn ids(base: &str, token: &str, paths: &[&str], key: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for p in paths {
        let Ok(res) = client.get(format!("{base}{p}")).bearer_auth(token).send().await else {
            continue;
        };
        let v: Value = res.json().await.unwrap_or(Value::Null);
        for r in v[key].as_array().into_iter().flatten() {
            if let Some(id) = r["id"]
                .as_str()
                .map(str::to_string)
                .or_else(|| r["id"].as_u64().map(|n| n.to_string()))
            {
                out.push(id);
            }
        }
    }
    out
}

#[test]
fn payt_random_and_malformed_requests() {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let m = rt.block_on(MockPayt::test().clock(mock_core::testing::frozen()).start());
    let mut pool = vec!["81".to_string(), "82".to_string(), "83".to_string()];
    pool.extend(rt.block_on(ids(
        &m.uri(),
        m.token(),
        &[
            "/v1/debtors?administration_id=81&per_page=3",
            "/v1/invoices?administration_id=81&per_page=3",
            "/v1/credit_cases?administration_id=81&per_page=3",
            "/v1/payment_plans?administration_id=81&per_page=3",
            "/v1/tasks?administration_id=81&per_page=3",
        ],
        "data",
    )));
    assert!(pool.len() > 8, "fixture ids: {pool:?}");
    let doc = load(concat!(env!("CARGO_MANIFEST_DIR"), "/mock-payt/spec/payt-openapi.json"));
    let ops: Vec<(Op, Shape)> = operations(&doc).into_iter().map(|o| (o, Shape::Payt)).collect();
    assert_eq!(ops.len(), 54, "every Payt operation");
    let state = m.state();
    run(
        &rt,
        &Target {
            name: "Payt",
            base: m.uri(),
            token: m.token().to_string(),
            ops,
            pool,
            store: &state.store,
            data: mock_payt::state::Db::fingerprint,
        },
    );
}

#[test]
fn paywise_random_and_malformed_requests() {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let m = rt.block_on(MockPaywise::test().clock(mock_core::testing::frozen()).start());
    let mut pool = rt.block_on(ids(
        &m.uri(),
        m.token(),
        &[
            "/v1/claims/?limit=3",
            "/v1/debtors/?limit=3",
            "/v1/mandates/?limit=3",
            "/v1/payments/?limit=3",
        ],
        "results",
    ));
    pool.extend(rt.block_on(ids(
        &m.uri(),
        m.token(),
        &["/v2/orders/?limit=3", "/v2/claims/?limit=3", "/v2/mandates/?limit=3"],
        "results",
    )));
    assert!(pool.len() > 8, "fixture ids: {pool:?}");
    let v1 = load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contract-tests/contracts/paywise-openapi.json"
    ));
    let v2 = load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contract-tests/contracts/paywise-v2-openapi.json"
    ));
    let mut ops: Vec<(Op, Shape)> = operations(&v1).into_iter().map(|o| (o, Shape::PaywiseV1)).collect();
    // paywise's own v1 files (Case Management and Partner): every v1 operation the contract file
    // leaves out.
    for file in ["case-management-v1.yaml", "partner-v1.yaml"] {
        let path = format!("{}/mock-paywise/spec/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let doc: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        for op in operations(&doc) {
            if !ops.iter().any(|(o, _)| o.method == op.method && o.path == op.path) {
                ops.push((op, Shape::PaywiseV1));
            }
        }
    }
    let v1_ops = ops.len();
    assert!(v1_ops > 30, "the v1 operations of paywise's files: {v1_ops}");
    ops.extend(operations(&v2).into_iter().map(|o| (o, Shape::PaywiseV2)));
    assert_eq!(ops.len(), v1_ops + 135, "every paywise v2 operation");
    let state = m.state();
    run(
        &rt,
        &Target {
            name: "paywise",
            base: m.uri(),
            token: m.token().to_string(),
            ops,
            pool,
            store: &state.store,
            data: |db: &mock_paywise::state::Db| {
                db.fingerprint()
                    .into_iter()
                    .filter(|l| !l.starts_with("v2_idempotency"))
                    .collect()
            },
        },
    );
}
