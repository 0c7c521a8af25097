//! The `fields` parameter: `{"only": ["id", {"payment_terms": ["id", "due_date"]}]}`.
//!
//! Without `fields` an entity shows its default set: every property except the opt-in ones whose
//! spec description says "(request with the 'fields' parameter)". With `only`, it shows exactly
//! the listed properties in the entity's own order, and listing an opt-in property turns it on.
//! A nested list applies to the objects (or arrays of objects) under that property. Names the
//! entity does not have are ignored, as grape-entity ignores them. `except` is honoured too.
//! Anything that is not such an object is a 400 naming the parameter.

use serde_json::{Map, Value};

use crate::error::PaytError;

/// A parsed `fields` value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Fields {
    /// No `fields`: the default set.
    #[default]
    Default,
    /// `{"only": [...]}`.
    Only(Vec<Selector>),
    /// `{"except": [...]}`.
    Except(Vec<String>),
}

/// One entry of an `only` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    name: String,
    nested: Option<Vec<Selector>>,
}

fn invalid(why: &str) -> PaytError {
    PaytError::invalid(
        "fields",
        format!("is invalid: {why}; expected JSON such as {{\"only\": [\"id\", {{\"payment_terms\": [\"id\"]}}]}}"),
    )
}

fn selectors(v: &Value, depth: usize) -> Result<Vec<Selector>, PaytError> {
    if depth > 8 {
        return Err(invalid("nested too deeply"));
    }
    let Value::Array(items) = v else {
        return Err(invalid("the list of fields must be an array"));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) => out.push(Selector {
                name: s.clone(),
                nested: None,
            }),
            Value::Object(map) => {
                for (name, nested) in map {
                    out.push(Selector {
                        name: name.clone(),
                        nested: Some(selectors(nested, depth + 1)?),
                    });
                }
            }
            _ => return Err(invalid("each field must be a name or an object of nested names")),
        }
    }
    Ok(out)
}

impl Fields {
    /// Parses the raw parameter; `None` or blank is the default set.
    pub fn parse(raw: Option<&str>) -> Result<Self, PaytError> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(Fields::Default);
        };
        let v: Value = serde_json::from_str(raw).map_err(|_| invalid("not valid JSON"))?;
        Self::from_value(&v)
    }

    /// Reads a `fields` value given as JSON (in a body) or as a JSON string.
    pub fn from_value(v: &Value) -> Result<Self, PaytError> {
        match v {
            Value::Null => Ok(Fields::Default),
            Value::String(s) => Self::parse(Some(s)),
            Value::Object(map) => {
                if let Some(only) = map.get("only") {
                    if map.len() > 1 {
                        return Err(invalid("give either only or except"));
                    }
                    Ok(Fields::Only(selectors(only, 0)?))
                } else if let Some(except) = map.get("except") {
                    let names = selectors(except, 0)?.into_iter().map(|s| s.name).collect();
                    Ok(Fields::Except(names))
                } else {
                    Err(invalid("the object needs an only key"))
                }
            }
            _ => Err(invalid("must be a JSON object")),
        }
    }

    /// Projects a serialized entity. `opt_in` names the properties shown only on request.
    pub fn apply(&self, entity: Value, opt_in: &[&str]) -> Value {
        match self {
            Fields::Default => drop_keys(entity, |k| opt_in.contains(&k)),
            Fields::Except(names) => drop_keys(entity, |k| opt_in.contains(&k) || names.iter().any(|n| n == k)),
            Fields::Only(sel) => only(entity, sel),
        }
    }
}

fn drop_keys(entity: Value, drop: impl Fn(&str) -> bool) -> Value {
    match entity {
        Value::Object(map) => Value::Object(map.into_iter().filter(|(k, _)| !drop(k)).collect()),
        other => other,
    }
}

fn only(entity: Value, sel: &[Selector]) -> Value {
    match entity {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if let Some(s) = sel.iter().find(|s| s.name == k) {
                    let v = match &s.nested {
                        Some(nested) => only(v, nested),
                        None => v,
                    };
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| only(v, sel)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_hides_opt_in() {
        let f = Fields::parse(None).expect("default");
        assert_eq!(
            f.apply(json!({"id":"1","public_url":"u"}), &["public_url"]),
            json!({"id":"1"})
        );
    }

    #[test]
    fn only_selects_nested_and_opt_in_in_entity_order() {
        let f = Fields::parse(Some(r#"{"only":["public_url",{"payment_terms":["id"]},"id"]}"#)).expect("valid");
        let e = json!({"id":"1","active":true,"payment_terms":[{"id":"7","amount_due":"1.00"}],"public_url":"u"});
        let out = f.apply(e, &["public_url"]);
        assert_eq!(out, json!({"id":"1","payment_terms":[{"id":"7"}],"public_url":"u"}));
        assert_eq!(
            out.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["id".to_string(), "payment_terms".into(), "public_url".into()])
        );
    }

    #[test]
    fn except_drops() {
        let f = Fields::parse(Some(r#"{"except":["active"]}"#)).expect("valid");
        assert_eq!(
            f.apply(json!({"id":"1","active":true,"u":1}), &["u"]),
            json!({"id":"1"})
        );
    }

    #[test]
    fn bad_fields_are_400() {
        for bad in ["{", "[]", "{\"only\": 3}", "{\"only\": [1]}", "{\"nope\": []}", "\"x\""] {
            let e = Fields::parse(Some(bad)).expect_err(bad);
            assert!(
                matches!(
                    e,
                    PaytError::BadParameter {
                        code: "invalid_parameter",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
