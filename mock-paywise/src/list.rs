//! DRF pages, request origins and bodies shared by the paywise resources.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use mock_core::CoreError;
use mock_core::body::{BodyError, BodyKind, body_kind, parse_json};
use mock_core::pagination::{drf_limit, drf_links, drf_offset, request_origin};
use mock_core::query::QueryParams;
use mock_core::rendered::{self, Item};
use mock_core::server::JsonBytes;
use mock_core::store::{Hint, OffsetPage};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use mock_core::{Record, Table};

use crate::state::{AppState, Caller, Db};

/// The default page size (paywise documents none; DRF projects commonly use 100).
pub const DEFAULT_LIMIT: usize = 100;
/// The largest page size; larger `limit` values are clamped, as DRF clamps them.
pub const MAX_LIMIT: usize = 1000;

/// The request's origin, path and query: what absolute links are built from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `http://host:port` as the client addressed the mock.
    pub origin: String,
    /// The request path.
    pub path: String,
    /// The decoded query.
    pub query: QueryParams,
}

impl Origin {
    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }

    /// `limit` and `offset` as DRF reads them.
    pub fn limit_offset(&self) -> (usize, usize) {
        (
            drf_limit(self.query.get("limit"), DEFAULT_LIMIT, MAX_LIMIT),
            drf_offset(self.query.get("offset")),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = PaywiseError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Inside a nested router `parts.uri` lacks the prefix: links use the URI the client sent.
        let uri: &Uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
        Ok(Self {
            origin: request_origin(&parts.headers),
            path: uri.path().to_string(),
            query: QueryParams::parse(uri.query()),
        })
    }
}

/// A record as the API shows it.
pub trait Resource: Record<Scope = crate::state::Scope> {
    /// The record with absolute `href`s built from the request's origin.
    fn render(&self, origin: &Origin) -> Value;

    /// The same rendering serialized straight into `s`; by default through [`Resource::render`].
    /// A resource whose rendering is its record with an `href` in front writes it with
    /// [`WithHref`], building no `Value`.
    fn write<S: Serializer>(&self, origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
        self.render(origin).serialize(s)
    }
}

/// A record serialized with `href` as its first member, as [`with_href`] makes it of its `Value`.
#[derive(Serialize)]
pub struct WithHref<'a, T> {
    /// The record's own URL.
    pub href: String,
    /// The record, its members after `href`.
    #[serde(flatten)]
    pub record: &'a T,
}

impl<'a, T: Serialize> WithHref<'a, T> {
    /// Serializes `record` into `s` with `href` in front: a [`Resource::write`] whose rendering
    /// is the record itself after its URL.
    pub fn write<S: Serializer>(href: String, record: &'a T, s: S) -> Result<S::Ok, S::Error> {
        WithHref { href, record }.serialize(s)
    }
}

/// A record through [`Resource::write`].
struct Rendered<'a, V> {
    record: &'a V,
    origin: &'a Origin,
}

impl<V: Resource> Serialize for Rendered<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.record.write(self.origin, s)
    }
}

fn written<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Result<JsonBytes, PaywiseError> {
    JsonBytes::of(value, capacity).ok_or_else(|| PaywiseError::core(&CoreError::Internal))
}

/// `GET /v1/<resource>/{id}/`: the caller's record with that UUID, or 404.
pub fn show<V: Resource>(
    state: &AppState,
    caller: &Caller,
    origin: &Origin,
    id: &str,
    table: impl Fn(&Db) -> &Table<V>,
) -> Result<JsonBytes, PaywiseError> {
    let id = path_uuid(id)?;
    let record = state
        .store
        .read(|db| table(db).get_shared(&caller.scope(), &id.to_string()))
        .ok_or_else(PaywiseError::not_found)?;
    written(
        &Rendered {
            record: &*record,
            origin,
        },
        1024,
    )
}

/// `GET /v1/<resource>/`: a DRF page of the caller's records that pass `matches` (`None`: all).
pub fn list<V: Resource>(
    state: &AppState,
    caller: &Caller,
    origin: &Origin,
    matches: Option<&dyn Fn(&V) -> bool>,
    table: impl Fn(&Db) -> &Table<V>,
) -> Result<JsonBytes, PaywiseError> {
    list_hinted(state, caller, origin, Hint::None, matches, table)
}

/// [`list`] where the filter names the only records that can match by a secondary key
/// ([`Hint::Lookup`]): only those are tested and counted.
pub fn list_hinted<V: Resource>(
    state: &AppState,
    caller: &Caller,
    origin: &Origin,
    hint: Hint<'_>,
    matches: Option<&dyn Fn(&V) -> bool>,
    table: impl Fn(&Db) -> &Table<V>,
) -> Result<JsonBytes, PaywiseError> {
    let (limit, offset) = origin.limit_offset();
    let p = state
        .store
        .read(|db| table(db).page_offset_shared(&caller.scope(), offset, limit, hint, matches));
    let base = origin.url(&origin.path);
    let (next, previous) = drf_links(&base, origin.query.pairs(), offset, limit, p.count);
    // The records' bytes depend on the record and the origin of its `href`s: a page of records
    // shown before on this origin copies them (`mock_core::rendered`).
    let context = [("origin", Value::String(origin.origin.clone()))];
    let items: Vec<Item<'_, V>> = p
        .items
        .iter()
        .map(|record| Item {
            record,
            writer: 0,
            context: &context,
            projection: "",
        })
        .collect();
    let internal = |_| PaywiseError::core(&CoreError::Internal);
    // A DRF page (`count`, `next`, `previous`, `results`) as serde writes a struct, the results
    // through the cache.
    let mut out = Vec::with_capacity(256 + p.items.len() * 1024);
    out.extend_from_slice(b"{\"count\":");
    serde_json::to_writer(&mut out, &p.count).map_err(internal)?;
    out.extend_from_slice(b",\"next\":");
    serde_json::to_writer(&mut out, &next).map_err(internal)?;
    out.extend_from_slice(b",\"previous\":");
    serde_json::to_writer(&mut out, &previous).map_err(internal)?;
    out.extend_from_slice(b",\"results\":");
    rendered::write_seq(&mut out, &items, |out, item| {
        serde_json::to_writer(
            out,
            &Rendered {
                record: &**item.record,
                origin,
            },
        )
    })
    .map_err(internal)?;
    out.push(b'}');
    Ok(JsonBytes(out))
}

/// A DRF page: `{"count", "next", "previous", "results"}` with absolute links.
pub fn page<V>(
    origin: &Origin,
    page: OffsetPage<V>,
    limit: usize,
    offset: usize,
    render: impl Fn(&V) -> Value,
) -> Json<Value> {
    let base = origin.url(&origin.path);
    let (next, previous) = drf_links(&base, origin.query.pairs(), offset, limit, page.count);
    let results: Vec<Value> = page.items.iter().map(render).collect();
    Json(json!({ "count": page.count, "next": next, "previous": previous, "results": results }))
}

/// Puts `href` first in a serialized record, as paywise's objects show it.
pub fn with_href(v: Value, href: String) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len() + 1);
            out.insert("href".into(), Value::String(href));
            out.extend(map);
            Value::Object(out)
        }
        other => other,
    }
}

/// A JSON request body. Other content types get DRF's 415, unparseable JSON its 400.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = PaywiseError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let kind = body_kind(req.headers());
        let ct = mock_core::body::media_type(req.headers()).unwrap_or_default();
        let bytes = mock_core::body::read_bytes(req, state)
            .await
            .map_err(|e| PaywiseError::core(&e))?;
        match kind {
            BodyKind::Json => {}
            BodyKind::Absent if bytes.trim_ascii().is_empty() => return Ok(JsonBody(json!({}))),
            BodyKind::Absent => {}
            _ => return Err(PaywiseError::core(&CoreError::UnsupportedMediaType(ct))),
        }
        match parse_json(&bytes) {
            Ok(v) => Ok(JsonBody(v)),
            Err(BodyError::InvalidJson(e)) => Err(PaywiseError::Detail(
                StatusCode::BAD_REQUEST,
                format!("JSON parse error - {e}"),
            )),
            Err(BodyError::TooComplex(e)) => Err(PaywiseError::Detail(
                StatusCode::BAD_REQUEST,
                format!("Request body too large to process - {e}."),
            )),
            Err(_) => Err(PaywiseError::Detail(
                StatusCode::BAD_REQUEST,
                "Malformed request.".into(),
            )),
        }
    }
}

/// Reads a UUID path segment; anything else cannot name an object, so it is a 404 as Django's
/// `<uuid:pk>` route converter makes it.
pub fn path_uuid(raw: &str) -> Result<Uuid, PaywiseError> {
    Uuid::parse_str(raw).map_err(|_| PaywiseError::not_found())
}

/// Parses a query filter as django-filter does, collecting form errors.
pub struct Filters<'q> {
    query: &'q QueryParams,
    errors: Map<String, Value>,
}

impl<'q> Filters<'q> {
    /// Starts reading filters from `query`.
    pub fn new(query: &'q QueryParams) -> Self {
        Self {
            query,
            errors: Map::new(),
        }
    }

    fn raw(&self, name: &str) -> Option<&'q str> {
        self.query.get(name).filter(|v| !v.is_empty())
    }

    fn fail(&mut self, name: &str, msg: String) {
        self.errors.insert(name.into(), json!([msg]));
    }

    /// An exact-match string filter.
    pub fn string(&mut self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_string)
    }

    /// A choice filter; an unknown value is a 400.
    pub fn choice(&mut self, name: &str, choices: &[&str]) -> Option<String> {
        let v = self.raw(name)?;
        if choices.contains(&v) {
            Some(v.to_string())
        } else {
            self.fail(
                name,
                format!("Select a valid choice. {v} is not one of the available choices."),
            );
            None
        }
    }

    /// A boolean filter: `true`/`false`/`1`/`0` (any case); django-filter ignores anything else.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.raw(name)?.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }

    /// A date filter (`YYYY-MM-DD`).
    pub fn date(&mut self, name: &str) -> Option<chrono::NaiveDate> {
        let v = self.raw(name)?;
        match chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.fail(name, "Enter a valid date.".into());
                None
            }
        }
    }

    /// A UUID filter.
    pub fn uuid(&mut self, name: &str) -> Option<Uuid> {
        let v = self.raw(name)?;
        match Uuid::parse_str(v.trim()) {
            Ok(u) => Some(u),
            Err(_) => {
                self.fail(name, "Enter a valid UUID.".into());
                None
            }
        }
    }

    /// 400 with every filter error, if any.
    pub fn finish(self) -> Result<(), PaywiseError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(PaywiseError::Validation(Value::Object(self.errors)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resource written straight into bytes gives the bytes of its rendered `Value`.
    #[test]
    fn written_records_are_the_bytes_of_their_rendering() {
        fn check<V: Resource>(table: &Table<V>, origin: &Origin) -> usize {
            let mut n = 0;
            for record in table.iter_all() {
                let direct = serde_json::to_string(&Rendered { record, origin }).expect("writes");
                let value = serde_json::to_string(&record.render(origin)).expect("writes");
                assert_eq!(direct, value);
                n += 1;
            }
            n
        }
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
        let (db, _) = crate::seed::generate(42, anchor);
        let origin = Origin {
            origin: "http://127.0.0.1:1".into(),
            path: "/v1/debtors/".into(),
            query: QueryParams::parse(None),
        };
        assert!(check(&db.debtors, &origin) > 10);
        assert!(check(&db.payments, &origin) > 10);
        assert!(check(&db.claims, &origin) > 10);
    }

    /// The serde form of `v` (what the renderings were made of before they were built field by
    /// field).
    fn serde_form<T: Serialize>(v: &T) -> Value {
        serde_json::to_value(v).expect("serializes")
    }

    /// Each rendering built field by field ([`crate::format::ToJson`]) is what the record's
    /// serde form made of it before: the same members with the same values in the same order.
    #[test]
    fn renderings_are_the_serde_form_they_were_made_of() {
        use crate::format::ToJson;
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
        let (db, _) = crate::seed::generate(42, anchor);
        let origin = Origin {
            origin: "http://127.0.0.1:1".into(),
            path: "/v1/claims/".into(),
            query: QueryParams::parse(None),
        };
        let same = |new: Value, old: Value| {
            assert_eq!(
                serde_json::to_string(&new).expect("writes"),
                serde_json::to_string(&old).expect("writes")
            );
        };
        for d in db.debtors.iter_all() {
            let old = with_href(serde_form(d), origin.url(&format!("/v1/debtors/{}/", d.id)));
            same(d.render(&origin), old);
        }
        for p in db.payments.iter_all() {
            let old = with_href(serde_form(p), origin.url(&format!("/v1/payments/{}/", p.id)));
            same(p.render(&origin), old);
        }
        let (mut payments, mut mandates) = (0, 0);
        for c in db.claims.iter_all() {
            let mut old = serde_form(c);
            if let Some(Value::Array(ps)) = old.get_mut("payments") {
                for p in ps.iter_mut() {
                    payments += 1;
                    let id = p.as_object_mut().and_then(|m| m.remove("id"));
                    let id = id.as_ref().and_then(Value::as_str).unwrap_or_default().to_string();
                    *p = with_href(std::mem::take(p), origin.url(&format!("/v1/payments/{id}/")));
                }
            }
            if let Some(Value::Object(m)) = old.get_mut("mandate")
                && let Some(id) = m.get("id").and_then(Value::as_str).map(str::to_string)
            {
                mandates += 1;
                let mut out = Map::new();
                out.insert("href".into(), Value::String(origin.url(&format!("/v1/mandates/{id}/"))));
                out.extend(std::mem::take(m));
                *m = out;
            }
            same(
                c.render(&origin),
                with_href(old, origin.url(&format!("/v1/claims/{}/", c.id))),
            );
        }
        assert!(
            payments > 0 && mandates > 0,
            "the seed has claims with payments and mandates"
        );
        let mut downloads = 0;
        for su in db.status_updates.iter_all() {
            let mut old = serde_form(su);
            if let Some(Value::Array(ds)) = old.get_mut("downloads") {
                for d in ds.iter_mut() {
                    downloads += 1;
                    let fid = d.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                    if let Value::Object(o) = d {
                        let url = format!("/v1/mandates/{}/statusupdates/{}/download/{fid}/", su.mandate, su.id);
                        o.insert("download_url".into(), Value::String(origin.url(&url)));
                    }
                }
            }
            same(su.render(&origin), old);
        }
        assert!(downloads > 0, "the seed has status updates with downloads");
        let (mut files, mut answers) = (0, 0);
        for r in db.requests_to_client.iter_all() {
            for f in r.file_attachments.iter().chain(&r.uploaded) {
                files += 1;
                same(f.to_json(), serde_form(f));
            }
            if let Some(a) = &r.answer {
                answers += 1;
                same(a.to_json(), serde_form(a));
            }
        }
        assert!(files > 0 && answers > 0, "the seed has request files and answers");
        let now = anchor.and_hms_micro_opt(9, 30, 0, 250).expect("a time").and_utc();
        let usage = crate::v2::conv::Usage::default();
        usage.hit("b", now);
        let limit = usage.limit("b", "token", now);
        same(limit.to_json(), serde_form(&limit));
    }
}
