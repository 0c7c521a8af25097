//! Reading an OpenAPI document the way our checks read it: shared by the Payt spec test and the
//! contract suite (`contract-tests`), which validate answers against a vendor's document.

use serde_json::{Value, json};

/// Keywords whose values are data, not schemas: the transforms leave them alone.
pub const DATA_KEYWORDS: &[&str] = &["example", "examples", "default", "enum", "const"];

/// Stricter: every object schema with `properties` that does not say otherwise gets
/// `"additionalProperties": false`, so a field the document lacks is an error.
pub fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("properties").is_some_and(Value::is_object) && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_string(), Value::Bool(false));
            }
            for (key, child) in map.iter_mut() {
                if !DATA_KEYWORDS.contains(&key.as_str()) {
                    close_objects(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Looser, and nothing else is relaxed: every property schema (every value of any `properties`
/// object, anywhere in the document) also accepts `null`, as `{"anyOf": [ORIGINAL, {"type":
/// "null"}]}`.
pub fn nullable_properties(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                match (key.as_str(), child) {
                    ("properties", Value::Object(properties)) => {
                        for property in properties.values_mut() {
                            nullable_properties(property);
                            let original = property.take();
                            *property = json!({ "anyOf": [original, { "type": "null" }] });
                        }
                    }
                    (_, child) => nullable_properties(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_properties),
        _ => {}
    }
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema terms: every schema object that says so becomes
/// `{"anyOf": [THE SCHEMA WITHOUT nullable, {"type": "null"}]}`, so `null` is accepted there and
/// nowhere else. (3.0 has no `null` type; 3.1 documents and JSON Schema need no such step.)
pub fn honour_nullable(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if !DATA_KEYWORDS.contains(&key.as_str()) {
                    honour_nullable(child);
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let original = Value::Object(std::mem::take(map));
                *schema = json!({ "anyOf": [original, { "type": "null" }] });
            }
        }
        Value::Array(items) => items.iter_mut().for_each(honour_nullable),
        _ => {}
    }
}

/// Points every local reference (`#/components/...`) of `value` at the document registered
/// under `uri` (`urn:x#/components/...`), so schemas of several documents can be compiled
/// together, or an inline schema be compiled outside its document.
pub fn rebase_refs(value: &mut Value, uri: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    ("$ref", Value::String(r)) if r.starts_with('#') => *r = format!("{uri}{r}"),
                    (k, _) if DATA_KEYWORDS.contains(&k) => {}
                    (_, child) => rebase_refs(child, uri),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase_refs(v, uri)),
        _ => {}
    }
}

/// An OpenAPI 3.0 document (parsed from JSON or YAML) made ready for a JSON Schema validator,
/// as our checks read a vendor's document: `nullable: true` honoured ([`honour_nullable`]),
/// component objects closed ([`close_objects`]: a field the document lacks is an error), any
/// property also `null` ([`nullable_properties`]: vendors render unset values as `null` without
/// saying so), and nothing else relaxed. Compile against it with draft 7 and formats on; an
/// unknown format (`decimal`, `binary`) is ignored by the validator, a `pattern` still applies.
pub fn validation_ready(mut doc: Value) -> Value {
    honour_nullable(&mut doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        close_objects(schemas);
    }
    // Inline response schemas (`{"type": "object", "properties": {"detail": ...}}`) are closed too.
    if let Some(paths) = doc.get_mut("paths") {
        close_objects(paths);
    }
    nullable_properties(&mut doc);
    doc
}

/// Deep-merges `overlay` into `doc`: objects merge key by key, anything else in `overlay`
/// replaces what `doc` has. For documented additions to a vendor's document (new properties of
/// a component), so the vendor's file itself stays byte for byte as published.
pub fn merge(doc: &mut Value, overlay: &Value) {
    match (doc, overlay) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (doc, overlay) => *doc = overlay.clone(),
    }
}

/// Every `(method, path template, status)` a document describes, methods in lower case, in
/// document order: what a test must exercise to cover the document.
pub fn documented_statuses(doc: &Value) -> Vec<(String, String, u16)> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
            let Some(operation) = item.get(method) else { continue };
            for status in operation["responses"].as_object().into_iter().flat_map(|r| r.keys()) {
                if let Ok(status) = status.parse() {
                    out.push((method.to_string(), template.clone(), status));
                }
            }
        }
    }
    out
}

/// The path template of `doc` (`/v1/credit_cases/{id}`) that serves `path`: same number of
/// segments, literal segments equal, parameters non-empty; literal segments win over parameters
/// (`/deleted` over `/{id}`). Trailing slashes do not matter.
pub fn template(doc: &Value, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter(|template| {
            let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty()))
        })
        .min_by_key(|template| template.matches('{').count())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_win_and_trailing_slashes_do_not_matter() {
        let doc = json!({"paths": {"/v1/x/{id}": {}, "/v1/x/deleted": {}, "/v1/y/": {}}});
        assert_eq!(template(&doc, "/v1/x/deleted").as_deref(), Some("/v1/x/deleted"));
        assert_eq!(template(&doc, "/v1/x/7").as_deref(), Some("/v1/x/{id}"));
        assert_eq!(template(&doc, "/v1/y").as_deref(), Some("/v1/y/"));
        assert_eq!(template(&doc, "/v1/x/"), None);
    }

    #[test]
    fn objects_close_and_properties_accept_null_but_data_stays_alone() {
        let mut doc = json!({"type": "object", "properties": {"a": {"type": "string"}},
            "example": {"properties": {}}});
        close_objects(&mut doc);
        nullable_properties(&mut doc);
        assert_eq!(doc["additionalProperties"], false);
        assert_eq!(doc["properties"]["a"]["anyOf"][1], json!({"type": "null"}));
        assert_eq!(doc["example"], json!({"properties": {}}));
    }

    #[test]
    fn openapi_30_nullable_is_honoured_and_the_rest_stays_strict() {
        let doc = json!({
            "paths": {"/x/": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}},
                "401": {"content": {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}},
                "default": {}
            }}}},
            "components": {"schemas": {"A": {"type": "object", "properties": {
                "tags": {"type": "array", "items": {"type": "string"}, "nullable": true},
                "n": {"type": "string", "enum": ["a"], "nullable": true}
            }}}}
        });
        let ready = validation_ready(doc.clone());
        let a = &ready["components"]["schemas"]["A"];
        assert_eq!(a["additionalProperties"], false);
        // The property wrapper, then the nullable wrapper inside it.
        assert_eq!(a["properties"]["tags"]["anyOf"][0]["anyOf"][1], json!({"type": "null"}));
        assert!(
            a["properties"]["tags"]["anyOf"][0]["anyOf"][0]
                .get("nullable")
                .is_none()
        );
        assert_eq!(a["properties"]["n"]["anyOf"][0]["anyOf"][0]["enum"], json!(["a"]));
        let inline = &ready["paths"]["/x/"]["get"]["responses"]["401"]["content"]["application/json"]["schema"];
        assert_eq!(inline["additionalProperties"], false);
        assert_eq!(
            documented_statuses(&doc),
            [
                ("get".to_string(), "/x/".to_string(), 200),
                ("get".to_string(), "/x/".to_string(), 401)
            ]
        );
        let mut merged = json!({"a": {"b": 1, "c": [1]}});
        merge(&mut merged, &json!({"a": {"c": [2], "d": true}}));
        assert_eq!(merged, json!({"a": {"b": 1, "c": [2], "d": true}}));
        let mut r = json!({"$ref": "#/components/schemas/A", "example": {"$ref": "#/keep"}});
        rebase_refs(&mut r, "urn:doc");
        assert_eq!(
            r,
            json!({"$ref": "urn:doc#/components/schemas/A", "example": {"$ref": "#/keep"}})
        );
    }
}
