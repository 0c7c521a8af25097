//! paywise's two OpenAPI files, their validators and the request harness of the spec test.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use mock_core::openapi::{self, rebase_refs, validation_ready};
use mock_paywise::MockPaywise;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

/// paywise's Case Management API v1, as published (OpenAPI 3.0.3, YAML).
pub const CASE_MANAGEMENT: &str = include_str!("../../../spec/case-management-v1.yaml");
/// paywise's Partner API v1, as published.
pub const PARTNER: &str = include_str!("../../../spec/partner-v1.yaml");
/// Ours: the two response fields paywise's later docs add to covered operations (`downloads` of a
/// status update, a mandate's `requests_to_client_summary`), merged into the Case Management file.
pub const LATER_DOCS: &str = include_str!("../../../spec/later-docs-additions.json");
pub const JSON: &str = "application/json";

/// DRF's error bodies, the shape every status the files do not document must have:
/// `{"detail": "..."}`, or field errors (`{"field": ["..."]}`, nested objects nest, lists give one
/// entry per item).
fn drf_error() -> Value {
    json!({
        "definitions": {
            "errors": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"$ref": "#/definitions/entry"}
            },
            "entry": {"anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"$ref": "#/definitions/entry"}}]}},
                {"$ref": "#/definitions/errors"}
            ]}
        },
        "anyOf": [
            {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"], "additionalProperties": false},
            {"$ref": "#/definitions/errors"}
        ]
    })
}

/// One vendor file, made validation-ready (`mock_core::openapi::validation_ready`: OpenAPI 3.0
/// `nullable` honoured, objects closed, any property may be null, nothing else relaxed).
pub struct Document {
    pub uri: &'static str,
    /// As published.
    pub raw: Value,
    /// Transformed.
    pub doc: Value,
}

impl Document {
    fn load(uri: &'static str, yaml: &str, additions: Option<&str>) -> Self {
        let raw: Value = serde_norway::from_str(yaml).expect("a vendor file is YAML");
        let mut merged = raw.clone();
        if let Some(additions) = additions {
            let additions: Value = serde_json::from_str(additions).expect("the additions are JSON");
            openapi::merge(&mut merged, &json!({"components": additions["components"]}));
        }
        let doc = validation_ready(merged);
        Self { uri, raw, doc }
    }
}

/// Where a response must match.
#[derive(Debug)]
pub enum Expected {
    /// The documented schema of the status (an inline schema with its references rebased).
    Documented(Value),
    /// Not documented: an error status must be DRF's error shape, anything else is a mismatch.
    Undocumented,
}

pub struct Spec {
    pub docs: Vec<Document>,
    validators: HashMap<String, Validator>,
}

/// The operation `GET /v1/mandates/{id}/statusupdates/` is described as one `StatusUpdates`; the
/// mock answers a list of them (our choice, see the README): validated item by item.
pub const STATUS_UPDATES: &str = "/v1/mandates/{id}/statusupdates/";

impl Spec {
    pub fn load() -> Self {
        Self {
            docs: vec![
                Document::load("urn:paywise-case-management", CASE_MANAGEMENT, Some(LATER_DOCS)),
                Document::load("urn:paywise-partner", PARTNER, None),
            ],
            validators: HashMap::new(),
        }
    }

    /// The document and path template serving `path`.
    pub fn template(&self, path: &str) -> Option<(usize, String)> {
        self.docs
            .iter()
            .enumerate()
            .find_map(|(i, d)| openapi::template(&d.raw, path).map(|t| (i, t)))
    }

    /// What a `status` answer to `method path` must match.
    pub fn expected(&self, method: &Method, path: &str, status: u16) -> (Expected, String) {
        let Some((i, template)) = self.template(path) else {
            return (Expected::Undocumented, format!("{method} (not in the vendor files)"));
        };
        let doc = &self.docs[i];
        let name = format!("{method} {template}");
        let schema = doc.doc["paths"][&template]
            .get(method.as_str().to_lowercase())
            .and_then(|op| op["responses"].get(status.to_string()))
            .and_then(|r| r.pointer("/content/application~1json/schema"));
        match schema {
            None => (Expected::Undocumented, name),
            Some(schema) => {
                let mut schema = schema.clone();
                rebase_refs(&mut schema, doc.uri);
                if template == STATUS_UPDATES && status == 200 {
                    schema = json!({"type": "array", "items": schema});
                }
                (Expected::Documented(schema), name)
            }
        }
    }

    /// Every error of `instance` against `schema`, flattened out of the null wrappers.
    pub fn errors(&mut self, schema: &Value, instance: &Value) -> Vec<String> {
        let docs = &self.docs;
        let validator = self.validators.entry(schema.to_string()).or_insert_with(|| {
            let mut options = jsonschema::options()
                .with_draft(Draft::Draft7)
                .should_validate_formats(true);
            for d in docs {
                options = options.with_resource(d.uri, Draft::Draft7.create_resource(d.doc.clone()));
            }
            options
                .build(schema)
                .unwrap_or_else(|e| panic!("cannot compile the vendor schema {schema}: {e}"))
        });
        let mut out = Vec::new();
        for error in validator.iter_errors(instance) {
            leaves(&error, &mut out);
        }
        out
    }

    /// Every `(method, template, status)` the two files document.
    pub fn documented(&self) -> Vec<(String, String, u16)> {
        self.docs
            .iter()
            .flat_map(|d| openapi::documented_statuses(&d.raw))
            .collect()
    }
}

fn only_not_null(branch: &[ValidationError<'_>]) -> bool {
    matches!(
        branch,
        [e] if matches!(e.kind(), ValidationErrorKind::Type { kind: TypeKind::Single(JsonType::Null) })
    )
}

/// An `anyOf` failure of a null wrapper is replaced by the errors of its non-null branch.
fn leaves(error: &ValidationError<'_>, out: &mut Vec<String>) {
    if let ValidationErrorKind::AnyOf { context } = error.kind() {
        let branches: Vec<_> = context.iter().filter(|b| !only_not_null(b)).collect();
        if branches.len() == 1 {
            for e in branches[0] {
                leaves(e, out);
            }
            return;
        }
    }
    out.push(format!(
        "at {:?}: {} [schema path {}]",
        error.instance_path().as_str(),
        error,
        error.schema_path().as_str()
    ));
}

// ------------------------------------------------------------------------------------------------
// Requests

/// Who calls.
#[derive(Debug, Clone)]
pub enum Auth {
    /// The Case Management test-mode key.
    Case,
    /// A partner key.
    Partner(&'static str),
    /// No `Authorization` header.
    Missing,
}

#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub auth: Auth,
    pub body: Option<(String, Vec<u8>)>,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            auth: Auth::Case,
            body: None,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn patch(path: impl Into<String>) -> Self {
        Self::new(Method::PATCH, path)
    }
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some((JSON.to_string(), body.to_string().into_bytes()));
        self
    }
    /// A multipart body with one `file` part.
    pub fn file(mut self, filename: &str, mime: &str, bytes: &[u8]) -> Self {
        const B: &str = "SPECBOUNDARY";
        let mut body = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
        self.body = Some((format!("multipart/form-data; boundary={B}"), body));
        self
    }
}

pub struct Harness {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub spec: Spec,
    pub checked: usize,
    pub failures: Vec<String>,
    pub seen: BTreeSet<(String, String, u16)>,
}

impl Harness {
    pub fn new(mock: &MockPaywise) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            base: mock.uri(),
            token: mock.token().to_string(),
            spec: Spec::load(),
            checked: 0,
            failures: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    pub fn ensure(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let report = what();
            eprintln!("\n=== MISMATCH ===\n{report}");
            self.failures.push(report);
        }
    }

    /// Sends `req`, asserts `expected_status` and validates the body against the vendor files.
    pub async fn call(&mut self, req: Req, expected_status: u16) -> Value {
        let mut builder = self
            .http
            .request(req.method.clone(), format!("{}{}", self.base, req.path));
        builder = match req.auth {
            Auth::Case => builder.bearer_auth(&self.token),
            Auth::Partner(token) => builder.bearer_auth(token),
            Auth::Missing => builder,
        };
        if let Some((content_type, body)) = &req.body {
            builder = builder.header(CONTENT_TYPE, content_type).body(body.clone());
        }
        let response = builder.send().await.expect("the mock answers every request");
        let status = response.status().as_u16();
        let path = response.url().path().to_string();
        if let Some((_, template)) = self.spec.template(&path) {
            self.seen.insert((req.method.as_str().to_lowercase(), template, status));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await.expect("a readable body");
        self.checked += 1;
        let mut problems = Vec::new();
        if status != expected_status {
            problems.push(format!("status {status}, the test expects {expected_status}"));
        }
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| {
                problems.push(format!("the body is not JSON: {e}"));
                Value::Null
            })
        };
        let (expected, operation) = self.spec.expected(&req.method, &path, status);
        let schema = match expected {
            Expected::Documented(schema) => Some(schema),
            Expected::Undocumented if status >= 400 => Some(drf_error()),
            Expected::Undocumented if status == 204 || status == 301 => None,
            Expected::Undocumented => {
                problems.push(format!(
                    "the vendor files do not document status {status} for {operation}"
                ));
                None
            }
        };
        if let Some(schema) = schema {
            if !content_type.starts_with(JSON) {
                problems.push(format!("content-type {content_type:?}, expected {JSON}"));
            }
            for e in self.spec.errors(&schema, &body) {
                problems.push(format!("{operation}: {e}"));
            }
        }
        if !problems.is_empty() {
            let sent = req
                .body
                .as_ref()
                .map(|(ct, b)| format!("\n  request body ({ct}): {}", String::from_utf8_lossy(b)))
                .unwrap_or_default();
            let report = format!(
                "request: {} {} ({:?}){sent}\n  status: {status}\n  response body: {text}\n  problems:\n    - {}",
                req.method,
                req.path,
                req.auth,
                problems.join("\n    - ")
            );
            eprintln!("\n=== MISMATCH ===\n{report}");
            self.failures.push(report);
        }
        body
    }

    /// Fails unless every response validated and every documented status of every operation of
    /// both files was exercised.
    pub fn finish(self) {
        eprintln!("checked {} responses against paywise's OpenAPI files", self.checked);
        let missing: Vec<String> = self
            .spec
            .documented()
            .into_iter()
            .filter(|k| !self.seen.contains(k))
            .map(|(m, p, s)| format!("{} {p} -> {s}", m.to_uppercase()))
            .collect();
        let mut failures = self.failures;
        if !missing.is_empty() {
            failures.push(format!(
                "operations and documented statuses never exercised:\n{}",
                missing.join("\n")
            ));
        }
        assert!(
            failures.is_empty(),
            "{} mismatch(es) between the paywise mock and paywise's OpenAPI files:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}
