//! The contracts every answer is checked against, and the field-level drift they report.
//!
//! - **Payt**: Payt's own published OpenAPI spec (`mock-payt/spec/payt-openapi.json`), with the
//!   same reading the mock's spec test uses: objects are closed (a field the spec lacks is drift),
//!   every property also accepts `null` (Payt's docs show `null` for unset values), and the one
//!   place where the live API was seen to differ (`POST /v1/files` answers an array, payt.md O4)
//!   overrides the spec.
//! - **paywise**: paywise's own OpenAPI 3.0.3 files (`mock-paywise/spec/case-management-v1.yaml`
//!   and `partner-v1.yaml`, vendored unchanged) for the 29 operations they cover (claims except
//!   delete, debtors and their sub-resources, mandates, status updates, payments, the whole
//!   Partner API), read as the mock's spec test reads them: `nullable` honoured, objects closed,
//!   any property may be `null`, plus the two fields paywise's later docs add
//!   (`mock-paywise/spec/later-docs-additions.json`) and one override (status updates answer a
//!   list). `contracts/paywise-openapi.json`, transcribed from the reference, covers the 20 the
//!   files lack (claim delete, status-update downloads, requests to client, statements,
//!   webhooks, token info); it also gives DRF's error shape for undocumented error statuses.
//!   `Contract::from_vendor_file` says which is which.
//!
//! Rules for one answer (`Contract::check`):
//! - the operation is found by path template (literal segments win over `{params}`; Payt's `/api`
//!   prefix and trailing slashes do not matter);
//! - a 2xx status the operation does not document is a **status** drift;
//! - a status >= 400 the operation does not document must still be the vendor's error shape (the
//!   contract's error fallback);
//! - a documented JSON body is validated: **missing** (required field absent), **extra** (field
//!   the contract lacks), **type**, **format** (format or pattern), **value** (enum, bounds);
//! - a documented non-JSON body (downloads) checks only the content type; 3xx and bodiless
//!   documented answers check nothing but the status.
//!
//! Tolerances (values the vendor legitimately changes from run to run): ids, timestamps, numbers
//! and amounts are checked by type and format only, never by value; with Payt's `fields`/`except`
//! projection a required field the request left out is not missing.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use mock_core::openapi::{self, DATA_KEYWORDS, close_objects, nullable_properties};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Payt's spec, byte for byte as published.
pub const PAYT_SPEC: &str = include_str!("../../mock-payt/spec/payt-openapi.json");
/// The paywise contract for what paywise's own OpenAPI files lack (transcribed from the
/// reference): webhooks, statements, requests to client, files, token info, claim delete.
pub const PAYWISE_CONTRACT: &str = include_str!("../contracts/paywise-openapi.json");
/// paywise's own OpenAPI 3.0.3 file for the Case Management API v1, vendored unchanged.
pub const PAYWISE_CASE_MANAGEMENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mock-paywise/spec/case-management-v1.yaml"
));
/// paywise's own OpenAPI 3.0.3 file for the Partner API v1, vendored unchanged.
pub const PAYWISE_PARTNER: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mock-paywise/spec/partner-v1.yaml"
));
/// Ours: the response fields paywise's later docs add to operations the vendor files cover
/// (a status update's `downloads`, a mandate's `requests_to_client_summary`).
pub const PAYWISE_LATER_DOCS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mock-paywise/spec/later-docs-additions.json"
));
/// Where the two vendor files are registered for `$ref`s.
const PAYWISE_CASE_MANAGEMENT_URI: &str = "urn:paywise-case-management";
const PAYWISE_PARTNER_URI: &str = "urn:paywise-partner";

/// Which vendor a contract describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Payt Customer API v1.
    Payt,
    /// paywise Case Management and Partner API.
    Paywise,
}

impl Vendor {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Payt => "payt",
            Vendor::Paywise => "paywise",
        }
    }
}

/// What kind of difference one drift item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The status is not what the contract (or the test) expects.
    Status,
    /// A required field is absent.
    Missing,
    /// A field the contract does not have.
    Extra,
    /// A value of another JSON type.
    Type,
    /// A string of another format (date, uuid, decimal pattern, ...).
    Format,
    /// A value outside what the contract allows (enum, bounds, length).
    Value,
    /// The body is not what the content type promises (not JSON, wrong media type).
    Body,
    /// A path the contract does not know.
    Operation,
}

impl DriftKind {
    /// The marker the terminal report shows before the item.
    pub fn marker(self) -> &'static str {
        match self {
            DriftKind::Status => "!",
            DriftKind::Missing => "-",
            DriftKind::Extra => "+",
            DriftKind::Type | DriftKind::Format | DriftKind::Value => "~",
            DriftKind::Body | DriftKind::Operation => "?",
        }
    }
}

/// One field-level difference between an answer and the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// What kind of difference.
    pub kind: DriftKind,
    /// JSON pointer into the body (`""` for the body itself, `status` for the status).
    pub at: String,
    /// What the contract expects.
    pub expected: String,
    /// What the target answered.
    pub actual: String,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.at.is_empty() { "(body)" } else { &self.at };
        let kind = format!("{:?}", self.kind).to_lowercase();
        write!(
            f,
            "{} {at:<28} {kind}: expected {}, got {}",
            self.kind.marker(),
            self.expected,
            self.actual
        )
    }
}

/// One answer, as the contract sees it.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// Request method (upper case).
    pub method: &'a str,
    /// Request path (no query).
    pub path: &'a str,
    /// Whether the request used a `fields`/`except` projection.
    pub projected: bool,
    /// Response status.
    pub status: u16,
    /// Response `Content-Type` (may be empty).
    pub content_type: &'a str,
    /// Response body.
    pub body: &'a [u8],
}

/// The outcome of checking one answer.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// `METHOD /template` of the operation, when the contract has the path.
    pub operation: Option<String>,
    /// Every difference found.
    pub drift: Vec<Drift>,
}

/// A vendor's contract: the document, its operations and compiled validators.
pub struct Contract {
    vendor: Vendor,
    /// The document after the transforms.
    doc: Value,
    /// The schema a status >= 400 the operation does not document must match.
    fallback: String,
    /// Further documents `$ref`s may point into (`uri`, transformed document): paywise's files.
    resources: Vec<(&'static str, Value)>,
    /// Operations (`METHOD /template`) whose contract is the vendor's own file, not ours.
    vendor_operations: Vec<String>,
    /// Compiled validators, by schema (JSON text of the schema object).
    validators: Mutex<HashMap<String, std::sync::Arc<Validator>>>,
}

const RESOURCE_URI: &str = "urn:contract";

impl Contract {
    /// The contract of `vendor` (loaded once per process).
    pub fn of(vendor: Vendor) -> &'static Contract {
        static PAYT: OnceLock<Contract> = OnceLock::new();
        static PAYWISE: OnceLock<Contract> = OnceLock::new();
        match vendor {
            Vendor::Payt => PAYT.get_or_init(Contract::payt),
            Vendor::Paywise => PAYWISE.get_or_init(Contract::paywise),
        }
    }

    fn payt() -> Self {
        let mut doc: Value = serde_json::from_str(PAYT_SPEC).expect("the Payt spec is JSON");
        if let Some(schemas) = doc.pointer_mut("/components/schemas") {
            close_objects(schemas);
        }
        nullable_properties(&mut doc);
        // payt.md O4: the live API answers `POST /v1/files` with an array (`[]` for a known file).
        if let Some(schema) = doc.pointer_mut("/paths/~1v1~1files/post/responses/201/content/application~1json/schema")
        {
            let item = schema.take();
            *schema = json!({ "type": "array", "items": item });
        }
        Self::new(Vendor::Payt, doc, "#/components/schemas/CustomerApi_ErrorEntity")
    }

    /// paywise: its own two OpenAPI files for every operation they cover (29), read as the mock's
    /// spec test reads them (`mock_core::openapi::validation_ready`, with the later docs' two
    /// additions merged in); our transcription for the rest (20). The statuses the files do not
    /// document fall back to DRF's error shape, from the transcription. One override: the files
    /// describe `GET /v1/mandates/{id}/statusupdates/` as one object; it answers a list (README).
    fn paywise() -> Self {
        let mut doc: Value = serde_json::from_str(PAYWISE_CONTRACT).expect("contracts/paywise-openapi.json is JSON");
        let fallback = doc["x-error-fallback"]
            .as_str()
            .unwrap_or("#/components/schemas/Error")
            .to_string();
        let later: Value = serde_json::from_str(PAYWISE_LATER_DOCS).expect("later-docs-additions.json is JSON");
        let mut resources = Vec::new();
        let mut vendor_operations = Vec::new();
        for (uri, text, additions) in [
            (PAYWISE_CASE_MANAGEMENT_URI, PAYWISE_CASE_MANAGEMENT, Some(&later)),
            (PAYWISE_PARTNER_URI, PAYWISE_PARTNER, None),
        ] {
            let mut vendor: Value = serde_norway::from_str(text).expect("a paywise OpenAPI file is YAML");
            if let Some(additions) = additions {
                openapi::merge(&mut vendor, &json!({ "components": additions["components"] }));
            }
            let mut vendor = openapi::validation_ready(vendor);
            for (template, item) in vendor["paths"].as_object().cloned().unwrap_or_default() {
                for (method, operation) in item.as_object().cloned().unwrap_or_default() {
                    if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                        continue;
                    }
                    let mut operation = operation;
                    openapi::rebase_refs(&mut operation, uri);
                    if template == "/v1/mandates/{id}/statusupdates/"
                        && let Some(schema) = operation.pointer_mut("/responses/200/content/application~1json/schema")
                    {
                        let item = schema.take();
                        *schema = json!({ "type": "array", "items": item });
                    }
                    operation["x-contract-source"] = json!(format!("paywise's own OpenAPI file ({uri})"));
                    vendor_operations.push(format!("{} {template}", method.to_uppercase()));
                    doc["paths"][&template][&method] = operation;
                }
            }
            // Only the components are needed for `$ref`s; the paths live in the merged document.
            if let Some(map) = vendor.as_object_mut() {
                map.remove("paths");
            }
            resources.push((uri, vendor));
        }
        let mut contract = Self::new(Vendor::Paywise, doc, &fallback);
        contract.resources = resources;
        contract.vendor_operations = vendor_operations;
        contract
    }

    fn new(vendor: Vendor, doc: Value, fallback: &str) -> Self {
        Self {
            vendor,
            doc,
            fallback: fallback.to_string(),
            resources: Vec::new(),
            vendor_operations: Vec::new(),
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `operation` (`METHOD /template`) is checked against the vendor's own file rather
    /// than our transcription (always true for Payt, whose spec is the vendor's).
    pub fn from_vendor_file(&self, operation: &str) -> bool {
        match self.vendor {
            Vendor::Payt => true,
            Vendor::Paywise => self.vendor_operations.iter().any(|o| o == operation),
        }
    }

    /// The vendor this contract describes.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// Every operation of the contract, as `METHOD /template`, in document order.
    pub fn operations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (template, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    out.push(format!("{} {template}", method.to_uppercase()));
                }
            }
        }
        out
    }

    /// The path template serving `path`; literal segments win over parameters.
    pub fn template(&self, path: &str) -> Option<String> {
        let path = match self.vendor {
            Vendor::Payt => path
                .strip_prefix("/api")
                .filter(|p| p.starts_with("/v1/"))
                .unwrap_or(path),
            Vendor::Paywise => path,
        };
        openapi::template(&self.doc, path)
    }

    /// Checks one answer against the contract.
    pub fn check(&self, answer: &Answer<'_>) -> Checked {
        let mut checked = Checked::default();
        let Some(template) = self.template(answer.path) else {
            if answer.status < 400 {
                checked.drift.push(Drift {
                    kind: DriftKind::Operation,
                    at: String::new(),
                    expected: format!("a path of the {} contract", self.vendor.name()),
                    actual: format!("{} {} answered {}", answer.method, answer.path, answer.status),
                });
            } else {
                self.check_body(answer, &json!({ "$ref": self.fallback }), &mut checked.drift);
            }
            return checked;
        };
        let operation = self.doc["paths"][&template].get(answer.method.to_lowercase());
        if operation.is_some() {
            checked.operation = Some(format!("{} {template}", answer.method));
        }
        let responses = operation.map(|op| &op["responses"]);
        let response = responses.and_then(|r| r.get(answer.status.to_string()));
        match response {
            Some(response) => self.check_documented(answer, response, &mut checked.drift),
            None if answer.status >= 400 => {
                self.check_body(answer, &json!({ "$ref": self.fallback }), &mut checked.drift);
            }
            None if (200..300).contains(&answer.status) => {
                let documented: Vec<&String> = responses
                    .and_then(Value::as_object)
                    .map(|r| r.keys().collect())
                    .unwrap_or_default();
                checked.drift.push(Drift {
                    kind: DriftKind::Status,
                    at: "status".into(),
                    expected: if documented.is_empty() {
                        format!("no {} {template} in the contract", answer.method)
                    } else {
                        format!("one of {}", join(&documented))
                    },
                    actual: answer.status.to_string(),
                });
            }
            None => {}
        }
        checked
    }

    fn check_documented(&self, answer: &Answer<'_>, response: &Value, drift: &mut Vec<Drift>) {
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return;
        };
        if let Some(json_entry) = content.get("application/json") {
            if let Some(schema) = json_entry.get("schema") {
                self.check_body(answer, schema, drift);
            }
            return;
        }
        let media = answer.content_type.split(';').next().unwrap_or_default().trim();
        if !content.keys().any(|k| k == media || k == "*/*") {
            drift.push(Drift {
                kind: DriftKind::Body,
                at: String::new(),
                expected: format!("content type {}", join(&content.keys().collect::<Vec<_>>())),
                actual: format!("{media:?}"),
            });
        }
    }

    fn check_body(&self, answer: &Answer<'_>, schema: &Value, drift: &mut Vec<Drift>) {
        if !answer.content_type.starts_with("application/json") {
            drift.push(Drift {
                kind: DriftKind::Body,
                at: String::new(),
                expected: "content type application/json".into(),
                actual: format!("{:?}", answer.content_type),
            });
            return;
        }
        let body: Value = match serde_json::from_slice(answer.body) {
            Ok(body) => body,
            Err(e) => {
                drift.push(Drift {
                    kind: DriftKind::Body,
                    at: String::new(),
                    expected: "a JSON body".into(),
                    actual: format!("unparseable ({e})"),
                });
                return;
            }
        };
        let validator = self.validator(schema);
        for error in validator.iter_errors(&body) {
            classify(&error, answer.projected, drift);
        }
    }

    fn validator(&self, schema: &Value) -> std::sync::Arc<Validator> {
        let key = schema.to_string();
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = cache.get(&key) {
            return v.clone();
        }
        let rooted = rebase(schema.clone());
        let mut options = jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .with_resource(RESOURCE_URI, Draft::Draft7.create_resource(self.doc.clone()));
        for (uri, document) in &self.resources {
            options = options.with_resource(*uri, Draft::Draft7.create_resource(document.clone()));
        }
        let validator = options
            .build(&rooted)
            .unwrap_or_else(|e| panic!("the {} contract has a broken schema {schema}: {e}", self.vendor.name()));
        let validator = std::sync::Arc::new(validator);
        cache.insert(key, validator.clone());
        validator
    }
}

fn join(items: &[&String]) -> String {
    items.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Points the `#/...` references of an inline schema at the registered document.
fn rebase(mut schema: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), child) {
                        ("$ref", Value::String(r)) if r.starts_with('#') => *r = format!("{RESOURCE_URI}{r}"),
                        (k, _) if DATA_KEYWORDS.contains(&k) => {}
                        (_, child) => walk(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

/// Whether `branch` only says "the value is not null" (the second branch of a null wrapper).
fn only_not_null(branch: &[ValidationError<'_>]) -> bool {
    matches!(
        branch,
        [e] if matches!(e.kind(), ValidationErrorKind::Type { kind: TypeKind::Single(JsonType::Null) })
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// Turns one validation error into drift items (null wrappers are looked through).
fn classify(error: &ValidationError<'_>, projected: bool, out: &mut Vec<Drift>) {
    let at = error.instance_path().as_str().to_string();
    let instance = error.instance();
    let actual = || format!("{} {}", json_type(instance), shown(instance));
    let item = |kind, at: String, expected: String, actual: String| Drift {
        kind,
        at,
        expected,
        actual,
    };
    match error.kind() {
        ValidationErrorKind::AnyOf { context } => {
            let branches: Vec<_> = context.iter().filter(|b| !only_not_null(b)).collect();
            if branches.len() == 1 {
                for e in branches[0] {
                    classify(e, projected, out);
                }
            } else {
                out.push(item(
                    DriftKind::Value,
                    at,
                    "one of the contract's alternatives".into(),
                    actual(),
                ));
            }
        }
        ValidationErrorKind::Required { property } => {
            if projected {
                return;
            }
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            out.push(item(
                DriftKind::Missing,
                format!("{at}/{name}"),
                "a required field".into(),
                "nothing".into(),
            ));
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                let value = instance.get(name).map(shown).unwrap_or_default();
                out.push(item(
                    DriftKind::Extra,
                    format!("{at}/{name}"),
                    "no such field".into(),
                    value,
                ));
            }
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
            };
            out.push(item(DriftKind::Type, at, expected, actual()));
        }
        ValidationErrorKind::Format { format } => {
            out.push(item(DriftKind::Format, at, format!("format {format}"), actual()));
        }
        ValidationErrorKind::Pattern { pattern } => {
            out.push(item(DriftKind::Format, at, format!("pattern {pattern}"), actual()));
        }
        ValidationErrorKind::Enum { options } => {
            out.push(item(
                DriftKind::Value,
                at,
                format!("one of {}", shown(options)),
                actual(),
            ));
        }
        ValidationErrorKind::Constant { expected_value } => {
            out.push(item(DriftKind::Value, at, shown(expected_value), actual()));
        }
        _ => out.push(item(DriftKind::Value, at, error.to_string(), actual())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer<'a>(method: &'a str, path: &'a str, status: u16, body: &'a [u8]) -> Answer<'a> {
        Answer {
            method,
            path,
            projected: false,
            status,
            content_type: "application/json; charset=utf-8",
            body,
        }
    }

    #[test]
    fn payt_templates_prefer_literals_and_accept_the_api_prefix() {
        let c = Contract::of(Vendor::Payt);
        assert_eq!(
            c.template("/v1/invoices/deleted").as_deref(),
            Some("/v1/invoices/deleted")
        );
        assert_eq!(c.template("/api/v1/debtors/12").as_deref(), Some("/v1/debtors/{id}"));
        assert_eq!(c.template("/v2/debtors"), None);
        assert_eq!(c.operations().len(), 54);
    }

    #[test]
    fn a_broken_field_is_reported_field_by_field() {
        let c = Contract::of(Vendor::Payt);
        let body = br#"{"code": 401, "mesage": "nope"}"#;
        let checked = c.check(&answer("GET", "/v1/debtors", 401, body));
        let kinds: Vec<(DriftKind, &str)> = checked.drift.iter().map(|d| (d.kind, d.at.as_str())).collect();
        assert!(kinds.contains(&(DriftKind::Extra, "/mesage")), "{checked:?}");
        assert!(kinds.contains(&(DriftKind::Missing, "/message")), "{checked:?}");
        assert!(kinds.contains(&(DriftKind::Type, "/code")), "{checked:?}");
        assert_eq!(checked.operation.as_deref(), Some("GET /v1/debtors"));
    }

    #[test]
    fn paywise_covered_operations_follow_the_vendor_files_and_the_rest_the_transcription() {
        let c = Contract::of(Vendor::Paywise);
        let operations = c.operations();
        assert_eq!(operations.len(), 49, "{operations:#?}");
        let vendor: Vec<&String> = operations.iter().filter(|o| c.from_vendor_file(o)).collect();
        assert_eq!(vendor.len(), 29, "{vendor:#?}");
        assert!(c.from_vendor_file("POST /partner/v1/companies/"));
        assert!(!c.from_vendor_file("DELETE /v1/claims/{id}/"));
        assert!(!c.from_vendor_file("GET /v1/webhooks/"));
        // A payment with an extra field and a currency outside `CurrencyEnum` drifts; null is fine
        // anywhere. (`format: uuid` is not checked: draft 7 does not know it.)
        let body = br#"{"href": "http://x/v1/payments/1/", "id": "1", "claim": "nope", "your_reference": null,
            "amount": {"value": "1.00", "currency": "GBP"}, "value_date": "2026-01-01",
            "metadata": null, "created": "2026-01-01T00:00:00Z", "extra": 1}"#;
        let checked = c.check(&answer("GET", "/v1/payments/7/", 200, body));
        let kinds: Vec<(DriftKind, &str)> = checked.drift.iter().map(|d| (d.kind, d.at.as_str())).collect();
        assert!(kinds.contains(&(DriftKind::Extra, "/extra")), "{checked:?}");
        assert!(kinds.contains(&(DriftKind::Value, "/amount/currency")), "{checked:?}");
        assert_eq!(kinds.len(), 2, "{checked:?}");
        // Status updates answer a list (our choice over the file's single object).
        let list = br#"[{"id": "1", "title": "t", "description": null, "legal_stage": "ended",
            "processing_state": "ended", "created": "2026-01-01T00:00:00Z", "downloads": []}]"#;
        let checked = c.check(&answer("GET", "/v1/mandates/1/statusupdates/", 200, list));
        assert!(checked.drift.is_empty(), "{checked:?}");
        // The Partner API's documented 400 is `{"message": ...}`.
        let checked = c.check(&answer("POST", "/partner/v1/users/", 400, br#"{"email": ["x"]}"#));
        assert!(checked.drift.iter().any(|d| d.kind == DriftKind::Extra), "{checked:?}");
    }

    #[test]
    fn an_undocumented_success_status_is_a_status_change() {
        let c = Contract::of(Vendor::Payt);
        let checked = c.check(&answer("GET", "/v1/debtors", 201, b"{}"));
        assert_eq!(checked.drift.len(), 1, "{checked:?}");
        assert_eq!(checked.drift[0].kind, DriftKind::Status);
        assert_eq!(checked.drift[0].actual, "201");
    }

    #[test]
    fn undocumented_errors_must_be_the_error_shape() {
        let c = Contract::of(Vendor::Payt);
        let ok = c.check(&answer(
            "GET",
            "/v1/debtors/9",
            404,
            br#"{"code": "not_found", "message": "x"}"#,
        ));
        assert!(ok.drift.is_empty(), "{ok:?}");
        let bad = c.check(&answer("GET", "/v1/debtors/9", 404, br#"{"error": "x"}"#));
        assert!(bad.drift.iter().any(|d| d.kind == DriftKind::Extra), "{bad:?}");
        let html = c.check(&Answer {
            content_type: "text/html",
            ..answer("GET", "/v1/debtors/9", 404, b"<html>")
        });
        assert_eq!(html.drift[0].kind, DriftKind::Body);
    }
}
