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
}
