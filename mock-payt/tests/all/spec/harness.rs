//! The spec, its validators and the request harness shared by the spec tests.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use mock_core::openapi::{self, close_objects, nullable_properties};
use mock_payt::MockPayt;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

/// Payt's published OpenAPI 3.0 spec for the Customer API v1, byte for byte.
pub const SPEC: &str = include_str!("../../../spec/payt-openapi.json");
/// The URI the (transformed) spec is registered under, so `$ref`s into it resolve.
pub const SPEC_URI: &str = "urn:payt-openapi";
/// The error shape; also the fallback for statuses the spec does not document (see [`Spec::expected`]).
pub const ERROR_ENTITY: &str = "#/components/schemas/CustomerApi_ErrorEntity";
pub const PAYMENT_PLAN_ENTITY: &str = "#/components/schemas/CustomerApi_V1_PaymentPlanEntity";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

// ------------------------------------------------------------------------------------------------
// The spec

// The transforms (`close_objects`: stricter, no field the spec lacks; `nullable_properties`: looser,
// any property may be null, as Payt's docs show `null` for unset values) live in
// `mock_core::openapi`, shared with the contract suite.

/// What the spec says a response must look like.
#[derive(Debug)]
pub enum Expected {
    /// A JSON body matching `schema` (a `$ref` into the spec). `documented` is false when the
    /// status is not in the operation's responses and the error fallback applies.
    Body { schema: String, documented: bool },
    /// The spec documents the status without a body schema: only the status is checked.
    NoBody,
}

/// One validation error, flattened out of the `anyOf` wrappers the null transform adds.
#[derive(Debug)]
pub struct Leaf {
    pub instance_path: String,
    pub schema_path: String,
    pub message: String,
    /// For a `required` error, the missing property.
    pub missing: Option<String>,
}

pub struct Spec {
    /// The spec as published.
    pub raw: Value,
    /// The transformed clone the validators compile against.
    pub doc: Value,
    /// One compiled validator per distinct `$ref`.
    pub validators: HashMap<String, Validator>,
}

impl Spec {
    pub fn load() -> Self {
        let raw: Value = serde_json::from_str(SPEC).expect("spec/payt-openapi.json is JSON");
        let mut doc = raw.clone();
        close_objects(
            doc.pointer_mut("/components/schemas")
                .expect("the spec has components/schemas"),
        );
        nullable_properties(&mut doc);
        Self {
            raw,
            doc,
            validators: HashMap::new(),
        }
    }

    /// The spec path template (`/v1/credit_cases/{id}`) that serves `path` (with or without the
    /// `/api` prefix); literal segments win over parameters (`/deleted` over `/{id}`).
    pub fn template(&self, path: &str) -> Option<String> {
        let path = path
            .strip_prefix("/api")
            .filter(|p| p.starts_with("/v1/"))
            .unwrap_or(path);
        openapi::template(&self.raw, path)
    }

    /// The schema a response to `method path` with `status` must match, and the operation it was
    /// looked up for (for messages).
    ///
    /// Rule: take `responses[status].content["application/json"].schema` of the operation. A status
    /// the spec does not document for the operation (400, 404, 405, 422 on most routes; any status
    /// of a route or method the spec lacks) must still be Payt's error shape, so it is validated
    /// against `#/components/schemas/CustomerApi_ErrorEntity`. A documented status without a body
    /// schema skips body validation (the status is still asserted).
    pub fn expected(&self, method: &Method, path: &str, status: u16) -> (Expected, String) {
        let template = self.template(path);
        let operation_name = format!(
            "{} {}",
            method,
            template.as_deref().unwrap_or("(no such path in the spec)")
        );
        let response = template.as_ref().and_then(|t| {
            self.raw["paths"][t.as_str()]
                .get(method.as_str().to_lowercase())
                .and_then(|op| op["responses"].get(status.to_string()))
        });
        let expected = match response {
            None => Expected::Body {
                schema: ERROR_ENTITY.to_string(),
                documented: false,
            },
            Some(response) => match response.pointer("/content/application~1json/schema") {
                None => Expected::NoBody,
                Some(schema) => Expected::Body {
                    schema: schema["$ref"]
                        .as_str()
                        .expect("every response schema in the Payt spec is a $ref")
                        .to_string(),
                    documented: true,
                },
            },
        };
        (expected, operation_name)
    }

    /// The `required` list of component schema `name`, as published.
    pub fn required(&self, name: &str) -> Vec<String> {
        self.raw["components"]["schemas"][name]["required"]
            .as_array()
            .expect("the schema has a required list")
            .iter()
            .map(|v| v.as_str().expect("required names are strings").to_string())
            .collect()
    }

    /// Every error of `instance` against `reference` (`#/components/schemas/X`).
    pub fn errors(&mut self, reference: &str, instance: &Value) -> Vec<Leaf> {
        let doc = &self.doc;
        let validator = self.validators.entry(reference.to_string()).or_insert_with(|| {
            jsonschema::options()
                .with_draft(Draft::Draft7)
                .should_validate_formats(true)
                .with_resource(SPEC_URI, Draft::Draft7.create_resource(doc.clone()))
                .build(&json!({ "$ref": format!("{SPEC_URI}{reference}") }))
                .unwrap_or_else(|e| panic!("cannot compile the spec schema {reference}: {e}"))
        });
        let mut out = Vec::new();
        for error in validator.iter_errors(instance) {
            leaves(&error, &mut out);
        }
        out
    }
}

/// Whether `branch` only says "the value is not null": the second branch of a null wrapper.
pub fn only_not_null(branch: &[ValidationError<'_>]) -> bool {
    matches!(
        branch,
        [e] if matches!(e.kind(), ValidationErrorKind::Type { kind: TypeKind::Single(JsonType::Null) })
    )
}

/// Flattens `error`: an `anyOf` failure (the spec has none of its own; they all come from the null
/// wrapper) is replaced by the errors of its non-null branch, so messages point at the real cause.
pub fn leaves(error: &ValidationError<'_>, out: &mut Vec<Leaf>) {
    if let ValidationErrorKind::AnyOf { context } = error.kind() {
        let branches: Vec<_> = context.iter().filter(|b| !only_not_null(b)).collect();
        if !branches.is_empty() {
            for branch in branches {
                for e in branch {
                    leaves(e, out);
                }
            }
            return;
        }
    }
    let missing = match error.kind() {
        ValidationErrorKind::Required { property } => property.as_str().map(str::to_string),
        _ => None,
    };
    out.push(Leaf {
        instance_path: error.instance_path().as_str().to_string(),
        schema_path: error.schema_path().as_str().to_string(),
        message: error.to_string(),
        missing,
    });
}

// ------------------------------------------------------------------------------------------------
// The `fields` projection

/// A `fields={"only": [...]}` selection as a tree: name -> nested selection (`None`: the whole
/// value).
#[derive(Debug, Default)]
pub struct Selection(BTreeMap<String, Option<Selection>>);

impl Selection {
    pub fn parse(only: &Value) -> Self {
        let mut out = BTreeMap::new();
        for item in only.as_array().into_iter().flatten() {
            match item {
                Value::String(name) => {
                    out.insert(name.clone(), None);
                }
                Value::Object(map) => {
                    for (name, nested) in map {
                        out.insert(name.clone(), Some(Selection::parse(nested)));
                    }
                }
                _ => {}
            }
        }
        Selection(out)
    }

    pub fn from_fields(fields: &Value) -> Option<Self> {
        fields.get("only").map(Self::parse)
    }

    /// Whether a `required` error for `property` at `instance_path` is the projection at work: the
    /// API shows only the selected properties, so a required property the request did not select
    /// is rightly absent. Nothing else is excused. `page`: the entities are under `/data/<i>`.
    pub fn excuses(&self, page: bool, instance_path: &str, property: &str) -> bool {
        let mut segments = instance_path.split('/').skip(1);
        if page && (segments.next() != Some("data") || segments.next().is_none()) {
            return false;
        }
        let mut selection = self;
        for segment in segments {
            if segment.parse::<usize>().is_ok() {
                continue;
            }
            match selection.0.get(&segment.replace("~1", "/").replace("~0", "~")) {
                Some(Some(nested)) => selection = nested,
                _ => return false,
            }
        }
        !selection.0.contains_key(property)
    }

    /// Where `entity` does not show exactly the selected properties.
    pub fn mismatches(&self, entity: &Value, at: &str, out: &mut Vec<String>) {
        match entity {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.mismatches(item, &format!("{at}/{i}"), out);
                }
            }
            Value::Object(map) => {
                let shown: BTreeSet<&str> = map.keys().map(String::as_str).collect();
                let selected: BTreeSet<&str> = self.0.keys().map(String::as_str).collect();
                if shown != selected {
                    out.push(format!(
                        "fields projection at {at:?}: shows {shown:?}, but fields selected {selected:?}"
                    ));
                }
                for (name, nested) in &self.0 {
                    if let (Some(nested), Some(value)) = (nested, map.get(name)) {
                        nested.mismatches(value, &format!("{at}/{name}"), out);
                    }
                }
            }
            Value::Null => {}
            other => out.push(format!("fields projection at {at:?}: expected an object, got {other}")),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Requests

#[derive(Debug, Clone)]
pub enum Auth {
    /// The mock's token.
    Token,
    /// No `Authorization` header.
    Missing,
    /// This `Authorization` header.
    Header(&'static str),
}

#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub auth: Auth,
    pub body: Option<(&'static str, String)>,
    /// The `fields` parameter (sent as JSON in the query).
    pub fields: Option<Value>,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            auth: Auth::Token,
            body: None,
            fields: None,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    pub fn q(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn admin(self, id: u64) -> Self {
        self.q("administration_id", id)
    }

    pub fn fields(mut self, fields: Value) -> Self {
        self.fields = Some(fields);
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.body(JSON, body.to_string())
    }

    pub fn body(mut self, content_type: &'static str, body: impl Into<String>) -> Self {
        self.body = Some((content_type, body.into()));
        self
    }
}

/// A response that was checked.
#[derive(Debug)]
pub struct Reply {
    pub body: Value,
    /// The spec schema the body was validated against.
    pub schema: Option<String>,
}

pub struct Harness {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub spec: Spec,
    pub checked: usize,
    pub failures: Vec<String>,
}

impl Harness {
    pub fn new(mock: &MockPayt) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: mock.uri(),
            token: mock.token().to_string(),
            spec: Spec::load(),
            checked: 0,
            failures: Vec::new(),
        }
    }

    pub fn fail(&mut self, report: String) {
        eprintln!("\n=== MISMATCH ===\n{report}");
        self.failures.push(report);
    }

    /// Records a failed expectation about the data (not the schema).
    pub fn ensure(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(what());
        }
    }

    /// Sends `req`, asserts `expected_status` and validates the body against the spec.
    pub async fn call(&mut self, req: Req, expected_status: u16) -> Reply {
        let mut query = req.query.clone();
        if let Some(fields) = &req.fields {
            query.push(("fields".to_string(), fields.to_string()));
        }
        let mut builder = self
            .http
            .request(req.method.clone(), format!("{}{}", self.base, req.path))
            .query(&query);
        builder = match req.auth {
            Auth::Token => builder.bearer_auth(&self.token),
            Auth::Missing => builder,
            Auth::Header(value) => builder.header(AUTHORIZATION, value),
        };
        if let Some((content_type, body)) = &req.body {
            builder = builder.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        let request = builder.build().expect("a well-formed request");
        let path = request.url().path().to_string();
        let shown = format!(
            "request: {} {} (auth: {:?}){}",
            request.method(),
            request.url(),
            req.auth,
            req.body
                .as_ref()
                .map(|(ct, b)| format!("\n  request body ({ct}): {b}"))
                .unwrap_or_default()
        );
        let response = self
            .http
            .execute(request)
            .await
            .expect("the mock answers every request");
        let status = response.status().as_u16();
        if let Some(template) = self.spec.template(&path) {
            coverage()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((req.method.as_str().to_lowercase(), template, status));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await.expect("a readable response body");
        self.checked += 1;

        let mut problems = Vec::new();
        if status != expected_status {
            problems.push(format!("status {status}, the test expects {expected_status}"));
        }
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| {
                problems.push(format!("the body is not JSON: {e}"));
                Value::Null
            })
        };
        let selection = req.fields.as_ref().and_then(Selection::from_fields);
        let (expected, operation) = self.spec.expected(&req.method, &path, status);
        let schema = match expected {
            Expected::NoBody => None,
            Expected::Body { schema, documented } => {
                if !documented && status < 400 {
                    problems.push(format!("the spec does not document status {status} for {operation}"));
                }
                if !content_type.starts_with(JSON) {
                    problems.push(format!("content-type {content_type:?}, expected {JSON}"));
                }
                let page = schema.ends_with("PageEntity");
                for leaf in self.spec.errors(&schema, &body) {
                    let excused = match (&selection, &leaf.missing) {
                        (Some(selection), Some(missing)) => selection.excuses(page, &leaf.instance_path, missing),
                        _ => false,
                    };
                    if !excused {
                        problems.push(format!(
                            "schema {schema} ({operation}): at instance path {:?}: {} [schema path {}]",
                            leaf.instance_path, leaf.message, leaf.schema_path
                        ));
                    }
                }
                Some(schema)
            }
        };
        if let (Some(selection), true) = (&selection, (200..300).contains(&status)) {
            match body.get("data") {
                Some(data) => selection.mismatches(data, "/data", &mut problems),
                None => selection.mismatches(&body, "", &mut problems),
            }
        }
        if !problems.is_empty() {
            self.fail(format!(
                "{shown}\n  status: {status}\n  response body: {text}\n  problems:\n    - {}",
                problems.join("\n    - ")
            ));
        }
        Reply { body, schema }
    }

    pub fn finish(self) {
        eprintln!(
            "checked {} responses against the spec, {} distinct schemas",
            self.checked,
            self.spec.validators.len()
        );
        assert!(
            self.failures.is_empty(),
            "{} mismatch(es) between the Payt mock and its spec or the expected statuses:\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Helpers over bodies

pub fn data(body: &Value) -> Vec<Value> {
    body["data"].as_array().cloned().unwrap_or_default()
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn cursor(body: &Value) -> Option<String> {
    body["pagination"]["cursor"].as_str().map(str::to_string)
}

/// `required` plus `extra` names, with `nested` selections replacing plain names.
pub fn selection(required: Vec<String>, extra: &[&str], nested: &[(&str, Vec<String>)]) -> Value {
    let mut only: Vec<Value> = required
        .into_iter()
        .chain(extra.iter().map(|s| s.to_string()))
        .filter(|name| nested.iter().all(|(n, _)| n != name))
        .map(Value::String)
        .collect();
    for (name, inner) in nested {
        let mut object = serde_json::Map::new();
        object.insert((*name).to_string(), json!(inner));
        only.push(Value::Object(object));
    }
    json!({ "only": only })
}

// ------------------------------------------------------------------------------------------------
// Scenarios

/// One list/show resource scoped by administration.
pub struct Resource {
    /// Path segment, e.g. `credit_cases`.
    pub name: &'static str,
    /// A selection of every required property plus the opt-in ones (validated without excuses).
    pub full: Value,
    /// The opt-in properties that `full` turns on.
    pub opt_in: &'static [&'static str],
    /// A narrow selection, with nested properties.
    pub narrow: Value,
}

/// The list and show routes of `r` for administration 81 (and 82); returns the full list of 81.
pub async fn list_and_show(h: &mut Harness, r: &Resource) -> Vec<Value> {
    let name = r.name;
    // Everything, under both prefixes.
    let mut all = Vec::new();
    for prefix in PREFIXES {
        let reply = h
            .call(Req::get(format!("{prefix}/{name}")).admin(81).q("per_page", 500), 200)
            .await;
        all.push(data(&reply.body));
    }
    let full = all.swap_remove(0);
    h.ensure(full == all[0], || format!("/v1 and /api/v1 {name} lists differ"));
    h.ensure(full.len() >= 6, || {
        format!(
            "{name}: administration 81 has only {} records; the test needs 6",
            full.len()
        )
    });
    h.ensure(full.iter().all(|i| i["administration_id"] == "81"), || {
        format!("{name}: a record of another administration is listed under 81")
    });
    let full_ids = ids(&full);

    // Plain: the default page of 100.
    let plain = h.call(Req::get(format!("/v1/{name}")).admin(81), 200).await;
    let plain_ids = ids(&data(&plain.body));
    h.ensure(plain_ids[..] == full_ids[..full_ids.len().min(100)], || {
        format!("{name}: the default page is not the first 100 records")
    });

    // per_page=2, then the cursor of that page.
    let first = h
        .call(Req::get(format!("/v1/{name}")).admin(81).q("per_page", 2), 200)
        .await;
    let c = cursor(&first.body);
    h.ensure(
        ids(&data(&first.body))[..] == full_ids[..2] && c.as_deref() == Some(full_ids[1].as_str()),
        || format!("{name} per_page=2: {}", first.body),
    );
    let second = h
        .call(
            Req::get(format!("/api/v1/{name}"))
                .admin(81)
                .q("per_page", 2)
                .q("cursor", c.unwrap_or_default()),
            200,
        )
        .await;
    h.ensure(ids(&data(&second.body))[..] == full_ids[2..4], || {
        format!("{name} page 2 (cursor): {}", second.body)
    });

    // Every page of 50 until the cursor is null gives the whole list once.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..=full.len() / 50 + 1 {
        let mut req = Req::get(format!("/v1/{name}")).admin(81).q("per_page", 50);
        if let Some(c) = &next {
            req = req.q("cursor", c);
        }
        let page = h.call(req, 200).await;
        seen.extend(ids(&data(&page.body)));
        next = cursor(&page.body);
        if next.is_none() {
            break;
        }
    }
    h.ensure(seen == full_ids && next.is_none(), || {
        format!(
            "{name}: paging by 50 gave {} records, the full list has {}",
            seen.len(),
            full_ids.len()
        )
    });

    // ids.
    let wanted = [full_ids[0].clone(), full_ids[3].clone()];
    let reply = h
        .call(
            Req::get(format!("/v1/{name}")).admin(81).q("ids", wanted.join(",")),
            200,
        )
        .await;
    h.ensure(ids(&data(&reply.body)) == wanted, || {
        format!("{name} ids={}: {}", wanted.join(","), reply.body)
    });

    // updated_after: strictly later than the median update.
    let mut stamps: Vec<&str> = full
        .iter()
        .map(|i| i["updated_at"].as_str().unwrap_or_default())
        .collect();
    stamps.sort_unstable();
    let after = stamps[stamps.len() / 2].to_string();
    let expected: Vec<String> = ids(&full
        .iter()
        .filter(|i| i["updated_at"].as_str().unwrap_or_default() > after.as_str())
        .cloned()
        .collect::<Vec<_>>());
    let reply = h
        .call(
            Req::get(format!("/v1/{name}"))
                .admin(81)
                .q("per_page", 500)
                .q("updated_after", &after),
            200,
        )
        .await;
    h.ensure(ids(&data(&reply.body)) == expected, || {
        format!(
            "{name} updated_after={after}: expected {expected:?}, got {}",
            reply.body
        )
    });

    // fields: every required property plus the opt-in ones (strict), and a narrow one.
    let reply = h
        .call(
            Req::get(format!("/v1/{name}"))
                .admin(81)
                .q("per_page", 5)
                .fields(r.full.clone()),
            200,
        )
        .await;
    for item in data(&reply.body) {
        let absent: Vec<_> = r.opt_in.iter().filter(|p| item.get(**p).is_none()).collect();
        h.ensure(absent.is_empty(), || {
            format!("{name}: opt-in {absent:?} not shown although fields asked: {item}")
        });
    }
    h.call(
        Req::get(format!("/api/v1/{name}"))
            .admin(81)
            .q("per_page", 5)
            .fields(r.narrow.clone()),
        200,
    )
    .await;

    // Administration 82 is granted too.
    let other = h
        .call(Req::get(format!("/v1/{name}")).admin(82).q("per_page", 3), 200)
        .await;
    let other_id = ids(&data(&other.body)).into_iter().next().unwrap_or_default();
    h.ensure(!other_id.is_empty(), || {
        format!("{name}: administration 82 has no records")
    });
    let reply = h
        .call(Req::get(format!("/v1/{name}")).admin(81).q("ids", &other_id), 200)
        .await;
    h.ensure(data(&reply.body).is_empty(), || {
        format!("{name}: ids of administration 82 listed under 81: {}", reply.body)
    });

    // Show.
    let id = &full_ids[0];
    for prefix in PREFIXES {
        let reply = h.call(Req::get(format!("{prefix}/{name}/{id}")).admin(81), 200).await;
        h.ensure(reply.body == full[0], || {
            format!(
                "{prefix}/{name}/{id} differs from its list entry: {} vs {}",
                reply.body, full[0]
            )
        });
    }
    h.call(
        Req::get(format!("/v1/{name}/{id}")).admin(81).fields(r.full.clone()),
        200,
    )
    .await;
    h.call(
        Req::get(format!("/api/v1/{name}/{id}"))
            .admin(81)
            .fields(r.narrow.clone()),
        200,
    )
    .await;

    // Show errors.
    h.call(Req::get(format!("/v1/{name}/999999999")).admin(81), 404).await;
    h.call(Req::get(format!("/api/v1/{name}/not-an-id")).admin(81), 404)
        .await;
    h.call(Req::get(format!("/v1/{name}/{other_id}")).admin(81), 404).await;
    h.call(Req::get(format!("/v1/{name}/{id}")).admin(83), 403).await;
    h.call(Req::get(format!("/v1/{name}/{id}")), 400).await;
    h.call(
        Req::get(format!("/v1/{name}/{id}")).admin(81).q("fields", "not-json"),
        400,
    )
    .await;
    h.call(Req::get(format!("/v1/{name}/{id}")).admin(81).auth(Auth::Missing), 401)
        .await;
    h.call(Req::new(Method::DELETE, format!("/v1/{name}/{id}")).admin(81), 405)
        .await;

    // List errors.
    h.call(Req::get(format!("/v1/{name}")).admin(83), 403).await;
    h.call(Req::get(format!("/api/v1/{name}")).admin(99), 403).await;
    h.call(Req::get(format!("/v1/{name}")), 400).await;
    for (param, value) in [
        ("administration_id", "abc"),
        ("per_page", "0"),
        ("per_page", "501"),
        ("per_page", "x"),
        ("cursor", "abc"),
        ("updated_after", "yesterday"),
        ("fields", "not-json"),
        ("fields", r#"{"nope":[]}"#),
    ] {
        let mut req = Req::get(format!("/v1/{name}")).q(param, value);
        if param != "administration_id" {
            req = req.admin(81);
        }
        h.call(req, 400).await;
    }
    h.call(Req::get(format!("/v1/{name}")).admin(81).auth(Auth::Missing), 401)
        .await;
    h.call(
        Req::get(format!("/api/v1/{name}"))
            .admin(81)
            .auth(Auth::Header("Bearer wrong-token")),
        401,
    )
    .await;
    h.call(Req::new(Method::DELETE, format!("/v1/{name}")), 405).await;
    h.call(Req::new(Method::PUT, format!("/api/v1/{name}")).admin(81), 405)
        .await;

    full
}

/// Lists filtered by `param=value` must give exactly the records of `full` that `keep` keeps.
pub async fn filter(
    h: &mut Harness,
    name: &str,
    full: &[Value],
    param: &str,
    value: &str,
    keep: impl Fn(&Value) -> bool,
) {
    let expected = ids(&full.iter().filter(|i| keep(i)).cloned().collect::<Vec<_>>());
    h.ensure(!expected.is_empty(), || {
        format!("{name} {param}={value}: nothing to expect")
    });
    let reply = h
        .call(
            Req::get(format!("/v1/{name}"))
                .admin(81)
                .q("per_page", 500)
                .q(param, value),
            200,
        )
        .await;
    h.ensure(ids(&data(&reply.body)) == expected, || {
        format!("{name} {param}={value}: expected {expected:?}, got {}", reply.body)
    });
}

pub const PREFIXES: [&str; 2] = ["/v1", "/api/v1"];

/// Every (method, spec path, status) the harness has seen answered, across all groups.
pub fn coverage() -> &'static std::sync::Mutex<BTreeSet<(String, String, u16)>> {
    static COVERED: std::sync::OnceLock<std::sync::Mutex<BTreeSet<(String, String, u16)>>> = std::sync::OnceLock::new();
    COVERED.get_or_init(Default::default)
}
