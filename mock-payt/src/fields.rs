//! The `fields` parameter: `{"only": ["id", {"payment_terms": ["id", "due_date"]}]}`.
//!
//! Without `fields` an entity shows its default set: every property except the opt-in ones whose
//! spec description says "(request with the 'fields' parameter)". With `only`, it shows exactly
//! the listed properties in the entity's own order, and listing an opt-in property turns it on.
//! A nested list applies to the objects (or arrays of objects) under that property. Names the
//! entity does not have are ignored, as grape-entity ignores them. `except` is honoured too.
//! Anything that is not such an object is a 400 naming the parameter.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::PaytError;

mod project;

use project::{Keep, bloom};
pub use project::{Overrides, Projected};

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

impl Fields {
    /// A text that is equal for equal projections and differs for different ones (empty for the
    /// default set): what [`mock_core::rendered`] tells the pages written through it apart by.
    pub fn cache_key(&self) -> String {
        match self {
            Fields::Default => String::new(),
            // The derived `Debug` writes every name quoted and escaped, nested lists in brackets.
            other => format!("{other:?}"),
        }
    }
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

    /// `record` as this projection shows it, for serializing straight into an answer: the same
    /// bytes as [`Fields::apply`] on its `Value`, without building one. `opt_in` names the
    /// properties shown only on request.
    pub fn project<'a, T: Serialize + ?Sized>(&'a self, record: &'a T, opt_in: &'a [&'a str]) -> Projected<'a, T> {
        let bloom = opt_in
            .iter()
            .copied()
            .chain(self.except_names())
            .fold(0, |b, n| b | bloom(n));
        let keep = match self {
            Fields::Default => Keep::Drop {
                opt_in,
                except: &[],
                bloom,
            },
            Fields::Except(except) => Keep::Drop { opt_in, except, bloom },
            Fields::Only(sel) => Keep::only(sel),
        };
        Projected::new(record, keep)
    }

    /// [`Fields::project`] with `overrides` written instead of the record's own values of
    /// those top-level fields.
    pub fn project_with<'a, T: Serialize + ?Sized>(
        &'a self,
        record: &'a T,
        opt_in: &'a [&'a str],
        overrides: Overrides<'a>,
    ) -> Projected<'a, T> {
        self.project(record, opt_in).with_overrides(overrides)
    }

    fn except_names(&self) -> impl Iterator<Item = &str> {
        match self {
            Fields::Except(names) => names.as_slice(),
            _ => &[],
        }
        .iter()
        .map(String::as_str)
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

    /// The bytes of the projection applied while serializing, against the projection of the
    /// serialized `Value` written out.
    fn both<T: Serialize>(f: &Fields, record: &T, opt_in: &[&str]) -> (String, String) {
        let direct = serde_json::to_string(&f.project(record, opt_in)).expect("serializes");
        let value = serde_json::to_value(record).expect("to value");
        let via_value = serde_json::to_string(&f.apply(value, opt_in)).expect("serializes");
        (direct, via_value)
    }

    #[derive(Serialize)]
    struct Term {
        id: u64,
        due: Option<String>,
        tags: Vec<&'static str>,
    }

    #[derive(Serialize)]
    struct Plan {
        id: String,
        active: bool,
        terms: Vec<Term>,
        first: Option<Term>,
        nested: Vec<Vec<Term>>,
        map: std::collections::BTreeMap<String, Term>,
        public_url: String,
        empty: Vec<u8>,
        unit: (),
    }

    fn plan() -> Plan {
        let term = |id| Term {
            id,
            due: (id % 2 == 0).then(|| format!("2026-01-{id:02}")),
            tags: vec!["a", "b"],
        };
        Plan {
            id: "9".into(),
            active: true,
            terms: vec![term(1), term(2)],
            first: Some(term(3)),
            nested: vec![vec![term(4)], vec![]],
            map: [("k".to_string(), term(5)), ("public_url".to_string(), term(6))].into(),
            public_url: "u".into(),
            empty: vec![],
            unit: (),
        }
    }

    #[test]
    fn projecting_while_serializing_writes_the_same_bytes_as_projecting_the_value() {
        let cases = [
            "",
            r#"{"only":["id"]}"#,
            r#"{"only":["public_url","id",{"terms":["due"]}]}"#,
            r#"{"only":[{"first":["id","tags"]},{"nested":["id"]},{"map":["k"]},"unit","empty"]}"#,
            r#"{"only":[{"terms":[{"tags":["x"]}]},{"id":["x"]}]}"#,
            r#"{"only":["nope"]}"#,
            r#"{"only":[]}"#,
            r#"{"except":["active","terms"]}"#,
            r#"{"except":["public_url"]}"#,
        ];
        for raw in cases {
            let f = Fields::parse(Some(raw)).expect(raw);
            for opt_in in [&[][..], &["public_url"][..], &["terms", "map"][..]] {
                let (direct, via_value) = both(&f, &plan(), opt_in);
                assert_eq!(direct, via_value, "{raw} {opt_in:?}");
            }
        }
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u32>().prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-d]", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn arb_selectors() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let name = "[a-e]".prop_map(Value::String);
        name.prop_recursive(3, 20, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                ("[a-d]", proptest::collection::vec(inner, 0..3)).prop_map(|(k, v)| serde_json::json!([{ k: v }])),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn projection_of_any_value_agrees_with_the_value_route(
            v in arb_value(),
            sel in arb_selectors(),
            except in proptest::collection::vec("[a-d]", 0..3),
            mode in 0..3u8,
        ) {
            let sel = match sel { Value::Array(a) => Value::Array(a), other => Value::Array(vec![other]) };
            let raw = match mode {
                0 => String::new(),
                1 => serde_json::json!({ "only": sel }).to_string(),
                _ => serde_json::json!({ "except": except }).to_string(),
            };
            // Some generated selector lists are not valid `fields` values (arrays inside arrays).
            if let Ok(f) = Fields::parse(Some(&raw)) {
                let (direct, via_value) = both(&f, &v, &["a", "c"]);
                proptest::prop_assert_eq!(direct, via_value);
            }
        }
    }
}
