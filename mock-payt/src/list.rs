//! The request and response shapes every list and show endpoint shares.

use std::collections::HashSet;

use axum::Json;
use chrono::{DateTime, Utc};
use mock_core::query::QueryParams;
use mock_core::store::CursorPage;
use mock_core::{Record, Table};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::PaytError;
use crate::fields::Fields;
use crate::params::{self, Paging};
use crate::state::{AppState, Caller, Db};

/// A parsed list request: administration, paging, projection and the common filters.
#[derive(Debug)]
pub struct ListRequest {
    /// The administration the list is scoped to.
    pub administration_id: u64,
    /// Cursor and page size.
    pub paging: Paging,
    /// The projection.
    pub fields: Fields,
    /// `ids`, when given.
    pub ids: Option<HashSet<u64>>,
    /// `updated_after`, when given.
    pub updated_after: Option<DateTime<Utc>>,
    /// The raw parameters, for endpoint-specific filters.
    pub query: QueryParams,
}

impl ListRequest {
    /// Checks `scope`, parses the common parameters and checks the administration grant, in the
    /// order the live API answers: 403 for the scope, 400 for parameters, 403 for the
    /// administration.
    pub fn parse(state: &AppState, caller: &Caller, raw: Option<&str>, scope: &str) -> Result<Self, PaytError> {
        caller.grant.require(scope)?;
        let query = QueryParams::parse(raw);
        let administration_id = params::administration_id(&query)?;
        let paging = Paging::parse(&query)?;
        let fields = params::fields(&query)?;
        let ids = params::id_list(&query, "ids");
        let updated_after = params::timestamp(&query, "updated_after")?;
        state.check_administration(caller, administration_id)?;
        Ok(Self {
            administration_id,
            paging,
            fields,
            ids,
            updated_after,
            query,
        })
    }

    /// Whether a record with `id` and `updated_at` passes `ids` and `updated_after`.
    pub fn common_match(&self, id: u64, updated_at: DateTime<Utc>) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&id)) && self.updated_after.is_none_or(|t| updated_at > t)
    }
}

/// How long deleted records stay visible to the `.../deleted` endpoints.
pub const TOMBSTONE_DAYS: i64 = 90;

/// A parsed `GET /v1/<resource>/deleted` request: administration, paging and the window.
#[derive(Debug)]
pub struct DeletedRequest {
    /// The administration the list is scoped to.
    pub administration_id: u64,
    /// Cursor and page size.
    pub paging: Paging,
    /// Records deleted strictly after this (required; older than 90 days is clamped to 90 days).
    pub deleted_after: DateTime<Utc>,
    /// Records deleted strictly before this, when given.
    pub deleted_before: Option<DateTime<Utc>>,
}

impl DeletedRequest {
    /// Checks `scope`, parses `administration_id`, `deleted_after` (required), `deleted_before`,
    /// `cursor` and `per_page`, and checks the grant.
    pub fn parse(state: &AppState, caller: &Caller, raw: Option<&str>, scope: &str) -> Result<Self, PaytError> {
        caller.grant.require(scope)?;
        let query = QueryParams::parse(raw);
        let administration_id = params::administration_id(&query)?;
        let paging = Paging::parse(&query)?;
        let deleted_after =
            params::timestamp(&query, "deleted_after")?.ok_or_else(|| PaytError::missing("deleted_after"))?;
        let deleted_before = params::timestamp(&query, "deleted_before")?;
        state.check_administration(caller, administration_id)?;
        let oldest = state.now() - chrono::Duration::days(TOMBSTONE_DAYS);
        Ok(Self {
            administration_id,
            paging,
            deleted_after: deleted_after.max(oldest),
            deleted_before,
        })
    }

    /// Whether a record deleted at `deleted_at` is in the window.
    pub fn matches(&self, deleted_at: DateTime<Utc>) -> bool {
        deleted_at > self.deleted_after && self.deleted_before.is_none_or(|b| deleted_at < b)
    }
}

/// A tombstone: a record of something deleted, listed by the `.../deleted` endpoints.
pub trait Tombstone: Serialize + Record<Scope = u64> {
    /// When the record was deleted.
    fn deleted_at(&self) -> DateTime<Utc>;
}

/// `GET /v1/<resource>/deleted`: the tombstones of `table` in the requested window, cursor-paged.
pub fn deleted<V: Tombstone>(
    state: &AppState,
    caller: &Caller,
    raw: Option<&str>,
    scope: &str,
    table: impl Fn(&Db) -> &Table<V>,
) -> Result<Json<Value>, PaytError> {
    let req = DeletedRequest::parse(state, caller, raw, scope)?;
    let p = state.store.read(|db| {
        table(db).page_after(&req.administration_id, req.paging.cursor, req.paging.per_page, |d| {
            req.matches(d.deleted_at())
        })
    });
    Ok(page(p, &Fields::Default, &[]))
}

/// The `debtor_ids`, `invoice_ids` and `credit_case_ids` filters of the lists of records that point
/// at a debtor, invoice or credit case (messages, notes, notifications).
#[derive(Debug, Default)]
pub struct RelatedFilter {
    debtors: Option<HashSet<u64>>,
    invoices: Option<HashSet<u64>>,
    cases: Option<HashSet<u64>>,
}

impl RelatedFilter {
    /// Reads the three filters from the request.
    pub fn parse(req: &ListRequest) -> Self {
        Self {
            debtors: params::id_list(&req.query, "debtor_ids"),
            invoices: params::id_list(&req.query, "invoice_ids"),
            cases: params::id_list(&req.query, "credit_case_ids"),
        }
    }

    /// Whether a record pointing at these ids passes every given filter.
    pub fn matches(&self, debtor: Option<u64>, invoice: Option<u64>, case: Option<u64>) -> bool {
        fn one(set: &Option<HashSet<u64>>, v: Option<u64>) -> bool {
            set.as_ref().is_none_or(|s| v.is_some_and(|v| s.contains(&v)))
        }
        one(&self.debtors, debtor) && one(&self.invoices, invoice) && one(&self.cases, case)
    }
}

/// A parsed show request: administration and projection.
#[derive(Debug)]
pub struct ShowRequest {
    /// The administration the record must belong to.
    pub administration_id: u64,
    /// The projection.
    pub fields: Fields,
}

impl ShowRequest {
    /// Checks `scope`, parses `administration_id` and `fields`, and checks the grant.
    pub fn parse(state: &AppState, caller: &Caller, raw: Option<&str>, scope: &str) -> Result<Self, PaytError> {
        caller.grant.require(scope)?;
        let query = QueryParams::parse(raw);
        let administration_id = params::administration_id(&query)?;
        let fields = params::fields(&query)?;
        state.check_administration(caller, administration_id)?;
        Ok(Self {
            administration_id,
            fields,
        })
    }
}

/// `GET /v1/<resource>/{id}`: the record with `id` in the requested administration, projected;
/// 404 when there is none (ids that are not numbers cannot exist).
#[allow(clippy::too_many_arguments)]
pub fn show<V: Serialize + Record<Scope = u64>>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    raw: Option<&str>,
    scope: &str,
    kind: &str,
    opt_in: &[&str],
    table: impl Fn(&Db) -> &Table<V>,
) -> Result<Json<Value>, PaytError> {
    let req = ShowRequest::parse(state, caller, raw, scope)?;
    let found = params::parse_id(id).and_then(|n| {
        state
            .store
            .read(|db| table(db).get(&req.administration_id, &n.to_string()).cloned())
    });
    let record = found.ok_or_else(|| PaytError::not_found(kind, id))?;
    Ok(Json(entity(&record, &req.fields, opt_in)))
}

/// Serializes one entity through the projection.
pub fn entity<V: Serialize>(record: &V, fields: &Fields, opt_in: &[&str]) -> Value {
    let v = serde_json::to_value(record).unwrap_or(Value::Null);
    fields.apply(v, opt_in)
}

/// A page: `{"data": [...], "pagination": {"cursor": "<last id>"}}`, with `cursor: null` on the
/// last page so a client that pages until the cursor is null stops there.
pub fn page<V: Serialize + Record>(page: CursorPage<V>, fields: &Fields, opt_in: &[&str]) -> Json<Value> {
    let cursor = page
        .has_more
        .then(|| page.items.last().map(|r| r.seq().to_string()))
        .flatten();
    let data: Vec<Value> = page.items.iter().map(|r| entity(r, fields, opt_in)).collect();
    Json(json!({ "data": data, "pagination": { "cursor": cursor } }))
}
