//! The request and response shapes every list and show endpoint shares, and the routes of the
//! lists, shows and tombstone lists that need nothing of their own ([`list_route`], [`show_route`],
//! [`deleted_route`]).

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::routing::{MethodRouter, get};
use chrono::{DateTime, Utc};
use mock_core::CoreError;
use mock_core::query::QueryParams;
use mock_core::rendered::{self, Item};
use mock_core::server::JsonBytes;
use mock_core::store::{CursorPage, Hint};
use mock_core::{Record, Table};
use serde::Serialize;
use serde_json::Value;

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
    /// `ids` in order, for reading just those records.
    id_seqs: Option<Vec<u64>>,
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
        let id_seqs = ids.as_ref().map(|ids| {
            let mut seqs: Vec<u64> = ids.iter().copied().collect();
            seqs.sort_unstable();
            seqs
        });
        Ok(Self {
            administration_id,
            paging,
            fields,
            ids,
            id_seqs,
            updated_after,
            query,
        })
    }

    /// The requested page of `table`: the records of the administration after the cursor that
    /// `keep` keeps (which must include [`ListRequest::common_match`]). With `ids` only those
    /// records are read, with `updated_after` the table's change order serves the page, so
    /// neither tests every record of a large administration.
    pub fn page_of<V: Record<Scope = u64>>(&self, table: &Table<V>, keep: impl Fn(&V) -> bool) -> CursorPage<Arc<V>> {
        self.page_among(table, None, keep)
    }

    /// [`ListRequest::page_of`] where an endpoint's own filter names the only records that can
    /// match (`candidates`, ids read by a secondary key): just those are read.
    pub fn page_among<V: Record<Scope = u64>>(
        &self,
        table: &Table<V>,
        candidates: Option<&[u64]>,
        keep: impl Fn(&V) -> bool,
    ) -> CursorPage<Arc<V>> {
        let hint = match (candidates.or(self.id_seqs.as_deref()), self.updated_after) {
            (Some(seqs), _) => Hint::Seqs(seqs),
            (None, Some(at)) => Hint::ChangedAfter(at),
            (None, None) => Hint::None,
        };
        table.page_after_shared(
            &self.administration_id,
            self.paging.cursor,
            self.paging.per_page,
            hint,
            keep,
        )
    }

    /// Whether a record with `id` and `updated_at` passes `ids` and `updated_after`.
    pub fn common_match(&self, id: u64, updated_at: DateTime<Utc>) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&id)) && self.updated_after.is_none_or(|t| updated_at > t)
    }
}

/// How long deleted records stay visible to the `.../deleted` endpoints.
pub(crate) const TOMBSTONE_DAYS: i64 = 90;

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
) -> Result<Written, PaytError> {
    let req = DeletedRequest::parse(state, caller, raw, scope)?;
    let p = state.store.read(|db| {
        table(db).page_after_shared(
            &req.administration_id,
            req.paging.cursor,
            req.paging.per_page,
            Hint::ChangedAfter(req.deleted_after),
            |d| req.matches(d.deleted_at()),
        )
    });
    page_shared(p, &Fields::Default, &[])
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

/// A record that points at a debtor, an invoice or a credit case (messages, notes,
/// notifications): what [`RelatedFilter`] filters on.
pub trait Related {
    /// Its `(debtor_id, invoice_id, credit_case_id)`.
    fn related(&self) -> (Option<u64>, Option<u64>, Option<u64>);
}

/// The filter of a [`Related`] resource's list ([`filtered`]): its `debtor_ids`, `invoice_ids` and
/// `credit_case_ids`.
pub fn related<V: Related>(req: &ListRequest) -> impl Fn(&V) -> bool + use<V> {
    let filter = RelatedFilter::parse(req);
    move |r: &V| {
        let (debtor, invoice, case) = r.related();
        filter.matches(debtor, invoice, case)
    }
}

/// The filter of a list with no filter of its own ([`filtered`]; credit cases, tasks).
pub fn unfiltered<V>(_: &ListRequest) -> impl Fn(&V) -> bool + use<V> {
    |_: &V| true
}

/// `GET /v1/<resource>` of `table`: [`ListRequest::common_match`] on each record's id and change
/// time, and the endpoint's own filter, made from the request by `filter` ([`related`],
/// [`unfiltered`]).
pub fn filtered<V: Serialize + Record<Scope = u64>, K: Fn(&V) -> bool>(
    state: &AppState,
    caller: &Caller,
    raw: Option<&str>,
    scope: &str,
    opt_in: &[&str],
    table: impl Fn(&Db) -> &Table<V>,
    filter: impl FnOnce(&ListRequest) -> K,
) -> Result<Written, PaytError> {
    let req = ListRequest::parse(state, caller, raw, scope)?;
    let keep = filter(&req);
    let page = state.store.read(|db| {
        req.page_of(table(db), |r| {
            r.changed().is_some_and(|at| req.common_match(r.seq(), at)) && keep(r)
        })
    });
    page_shared(page, &req.fields, opt_in)
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
) -> Result<Written, PaytError> {
    let req = ShowRequest::parse(state, caller, raw, scope)?;
    let found = params::parse_id(id).and_then(|n| {
        state
            .store
            .read(|db| table(db).get_shared(&req.administration_id, &n.to_string()))
    });
    let record = found.ok_or_else(|| PaytError::not_found(kind, id))?;
    written(&*record, &req.fields, opt_in)
}

/// The `GET /v1/<resource>` route of a list served by [`filtered`], for a resource's `router`:
/// its scope, opt-in fields, table and filter ([`related`], [`unfiltered`]) are all it names.
pub(crate) fn list_route<V, K>(
    scope: &'static str,
    opt_in: &'static [&'static str],
    table: impl Fn(&Db) -> &Table<V> + Clone + Send + Sync + 'static,
    filter: impl FnOnce(&ListRequest) -> K + Clone + Send + Sync + 'static,
) -> MethodRouter<AppState>
where
    V: Serialize + Record<Scope = u64>,
    K: Fn(&V) -> bool,
{
    get(
        move |State(state): State<AppState>, caller: Caller, RawQuery(raw): RawQuery| async move {
            filtered(&state, &caller, raw.as_deref(), scope, opt_in, table, filter)
        },
    )
}

/// The `GET /v1/<resource>/{id}` route of a record served by [`show`], for a resource's `router`;
/// `kind` names the record in the 404.
pub(crate) fn show_route<V: Serialize + Record<Scope = u64>>(
    scope: &'static str,
    kind: &'static str,
    opt_in: &'static [&'static str],
    table: impl Fn(&Db) -> &Table<V> + Clone + Send + Sync + 'static,
) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery| async move {
            show(&state, &caller, &id, raw.as_deref(), scope, kind, opt_in, table)
        },
    )
}

/// The `GET /v1/<resource>/deleted` route of the tombstones in `table`, served by [`deleted`].
pub(crate) fn deleted_route<V: Tombstone>(
    scope: &'static str,
    table: impl Fn(&Db) -> &Table<V> + Clone + Send + Sync + 'static,
) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, caller: Caller, RawQuery(raw): RawQuery| async move {
            deleted(&state, &caller, raw.as_deref(), scope, table)
        },
    )
}

/// Serializes one entity through the projection, as a `Value` (for answers that embed it). A
/// record serde cannot write (none of the mock's records) is a 500 in Payt's shape, as in
/// [`written`].
pub fn entity<V: Serialize>(record: &V, fields: &Fields, opt_in: &[&str]) -> Result<Value, PaytError> {
    let v = serde_json::to_value(record).map_err(|_| PaytError::Core(CoreError::Internal))?;
    Ok(fields.apply(v, opt_in))
}

/// [`entity`] with `overrides` shown instead of the record's own values of those top-level fields
/// (an invoice's derived properties, [`crate::format::Derived`]).
pub(crate) fn entity_with<V: Serialize>(
    record: &V,
    overrides: crate::fields::Overrides<'_>,
    fields: &Fields,
    opt_in: &[&str],
) -> Result<Value, PaytError> {
    serde_json::to_value(fields.project_with(record, opt_in, overrides))
        .map_err(|_| PaytError::Core(CoreError::Internal))
}

/// A JSON answer written straight from the records: a page of 100 records costs their
/// serialization and nothing more.
pub type Written = JsonBytes;

/// `value` written out; a value serde cannot write (none of the mock's records) is a 500 in
/// Payt's shape rather than a broken answer.
fn write_out<T: Serialize>(value: &T, capacity: usize) -> Result<Written, PaytError> {
    JsonBytes::of(value, capacity).ok_or(PaytError::Core(CoreError::Internal))
}

/// One entity through the projection, written out.
pub fn written<V: Serialize>(record: &V, fields: &Fields, opt_in: &[&str]) -> Result<Written, PaytError> {
    write_out(&fields.project(record, opt_in), 1024)
}

/// The body of a page.
#[derive(Serialize)]
struct PageBody<D> {
    data: D,
    pagination: Pagination,
}

/// `pagination` of a page: the cursor of the next one.
#[derive(Serialize)]
struct Pagination {
    cursor: Option<String>,
}

impl Pagination {
    /// After a page ending with `last`: its id, or `null` on the last page.
    fn after<V: Record>(last: Option<&V>, has_more: bool) -> Self {
        let cursor = has_more.then(|| last.map(|r| r.seq().to_string())).flatten();
        Pagination { cursor }
    }
}

/// The records of a page through the projection.
struct Data<'a, V> {
    items: &'a [&'a V],
    fields: &'a Fields,
    opt_in: &'a [&'a str],
}

impl<V: Serialize> Serialize for Data<'_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter().map(|r| self.fields.project(*r, self.opt_in)))
    }
}

fn write_page<V: Serialize + Record>(
    items: &[&V],
    has_more: bool,
    fields: &Fields,
    opt_in: &[&str],
) -> Result<Written, PaytError> {
    let body = PageBody {
        data: Data { items, fields, opt_in },
        pagination: Pagination::after(items.last().copied(), has_more),
    };
    write_out(&body, 64 + items.len() * 1024)
}

/// A page: `{"data": [...], "pagination": {"cursor": "<last id>"}}`, with `cursor: null` on the
/// last page so a client that pages until the cursor is null stops there.
pub fn page<V: Serialize + Record>(
    page: CursorPage<V>,
    fields: &Fields,
    opt_in: &[&str],
) -> Result<Written, PaytError> {
    let items: Vec<&V> = page.items.iter().collect();
    write_page(&items, page.has_more, fields, opt_in)
}

/// A record with the values an answer shows instead of some of its own ([`Overrides`]).
pub type Viewed<V> = (Arc<V>, Vec<(&'static str, Value)>);

/// [`page`] of records shown with overrides (an invoice's `debtor_number`, say), written
/// without copying the records.
pub(crate) fn page_viewed<V: Serialize + Record + Send + Sync + 'static>(
    items: Vec<Viewed<V>>,
    has_more: bool,
    fields: &Fields,
    opt_in: &[&str],
) -> Result<Written, PaytError> {
    let projection = fields.cache_key();
    let items: Vec<_> = items
        .iter()
        .map(|(record, overrides)| Item {
            record,
            writer: opt_in.as_ptr() as usize,
            context: overrides,
            projection: &projection,
        })
        .collect();
    write_rendered(&items, has_more, fields, opt_in)
}

/// [`page`] of records shared with the store (read with [`ListRequest::page_of`]).
pub(crate) fn page_shared<V: Serialize + Record + Send + Sync + 'static>(
    page: CursorPage<Arc<V>>,
    fields: &Fields,
    opt_in: &[&str],
) -> Result<Written, PaytError> {
    let projection = fields.cache_key();
    let items: Vec<_> = page
        .items
        .iter()
        .map(|record| Item {
            record,
            writer: opt_in.as_ptr() as usize,
            context: &[],
            projection: &projection,
        })
        .collect();
    write_rendered(&items, page.has_more, fields, opt_in)
}

/// A page of shared records through `fields`, each record's bytes from [`mock_core::rendered`]
/// when it was written before as it is (with the same overrides and projection), else
/// written and kept there: the same bytes as [`write_page`] (`{"data":[...],"pagination":{...}}`,
/// as serde writes it).
fn write_rendered<V: Serialize + Record + Send + Sync + 'static>(
    items: &[Item<'_, V>],
    has_more: bool,
    fields: &Fields,
    opt_in: &[&str],
) -> Result<Written, PaytError> {
    let internal = |_| PaytError::Core(CoreError::Internal);
    let mut out = Vec::with_capacity(64 + items.len() * 1024);
    out.extend_from_slice(b"{\"data\":");
    rendered::write_seq(&mut out, items, |out, item| {
        serde_json::to_writer(out, &fields.project_with(&**item.record, opt_in, item.context))
    })
    .map_err(internal)?;
    out.extend_from_slice(b",\"pagination\":");
    let pagination = Pagination::after(items.last().map(|i| &**i.record), has_more);
    serde_json::to_writer(&mut out, &pagination).map_err(internal)?;
    out.push(b'}');
    Ok(JsonBytes(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A page written straight from the records, against the page built as a `Value` (the way
    /// the mock wrote pages before) and written out: the same bytes, for fixture records of
    /// several kinds under every kind of projection.
    #[test]
    fn written_pages_are_the_bytes_of_the_value_route() {
        fn check<V: Serialize + Record>(items: Vec<V>, opt_in: &[&str]) {
            let projections = [
                "",
                r#"{"only":["id","updated_at"]}"#,
                r#"{"only":["id","public_url",{"payment_terms":["due_date"]},{"lines":["description"]},{"labels":["name"]}]}"#,
                r#"{"except":["id","created_at"]}"#,
            ];
            for raw in projections {
                let fields = Fields::parse(Some(raw)).expect(raw);
                for has_more in [false, true] {
                    let cursor = has_more.then(|| items.last().map(|r| r.seq().to_string())).flatten();
                    let data: Vec<Value> = items
                        .iter()
                        .map(|r| entity(r, &fields, opt_in).expect("an entity"))
                        .collect();
                    let via_value = serde_json::to_vec(&json!({ "data": data, "pagination": { "cursor": cursor } }))
                        .expect("writes");
                    let p = CursorPage {
                        items: items.clone(),
                        has_more,
                    };
                    let written = page(p, &fields, opt_in).expect("writes");
                    assert_eq!(
                        String::from_utf8_lossy(&written.0),
                        String::from_utf8_lossy(&via_value),
                        "{raw}"
                    );
                }
            }
        }
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
        let (db, _) = crate::seed::generate(42, anchor);
        let admin = 81;
        use crate::resources::*;
        check(db.invoices.iter(&admin).cloned().collect(), invoices::OPT_IN);
        check(db.credit_cases.iter(&admin).cloned().collect(), credit_cases::OPT_IN);
        check(db.debtors.iter(&admin).cloned().collect(), debtors::OPT_IN);
        check(db.payments.iter(&admin).cloned().collect(), payments::OPT_IN);
        check(db.payment_plans.iter(&admin).cloned().collect(), payment_plans::OPT_IN);
        check(db.tasks.iter(&admin).cloned().collect(), tasks::OPT_IN);
        check(db.contacts.iter(&admin).cloned().collect(), contacts::OPT_IN);
        check(db.notifications.iter(&admin).cloned().collect(), notifications::OPT_IN);
        check(Vec::<crate::resources::notes::Note>::new(), &[]);
    }

    /// Records with overrides the way the mock wrote them before pages were written straight
    /// from the records: each a `Value`, the overrides put in place of its own values, projected.
    fn viewed_via_value<V: Serialize>(items: &[Viewed<V>], fields: &Fields, opt_in: &[&str]) -> Vec<Value> {
        items
            .iter()
            .map(|(i, overrides)| {
                let mut v = serde_json::to_value(&**i).expect("a value");
                for (name, value) in overrides {
                    v[*name] = value.clone();
                }
                fields.apply(v, opt_in)
            })
            .collect()
    }

    /// A page in the default projection comes from [`mock_core::rendered`] where its records were
    /// written before, and it is the page the records give now: after a record changes (the store
    /// moves it), after its overrides change (a debtor's new number), and when written again.
    #[test]
    fn rendered_pages_follow_every_change_of_their_records() {
        use crate::resources::invoices::{self, Invoice};
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
        let (db, _) = crate::seed::generate(42, anchor);
        let mut table: Table<Invoice> = db.invoices.clone();
        let via_value = |items: &[Viewed<Invoice>]| {
            let data = viewed_via_value(items, &Fields::Default, invoices::OPT_IN);
            let cursor = items.last().map(|(i, _)| i.id.to_string());
            String::from_utf8(
                serde_json::to_vec(&json!({"data": data, "pagination": {"cursor": cursor}})).expect("writes"),
            )
            .expect("text")
        };
        let read = |table: &Table<Invoice>, number: &str| -> Vec<Viewed<Invoice>> {
            let page = table.page_after_shared(&81, None, 50, Hint::None, |_| true);
            let n = Value::String(number.to_string());
            page.items
                .into_iter()
                .map(|i| (i, vec![("debtor_number", n.clone())]))
                .collect()
        };
        let written = |items: Vec<Viewed<Invoice>>| {
            let w = page_viewed(items, true, &Fields::Default, invoices::OPT_IN).expect("writes");
            String::from_utf8(w.0).expect("text")
        };
        // Written, then from the cache: the same bytes as the value route both times.
        for _ in 0..2 {
            let items = read(&table, "D-1");
            assert_eq!(written(items.clone()), via_value(&items));
        }
        // The same records with another debtor number.
        let items = read(&table, "D-2");
        let page = written(items.clone());
        assert_eq!(page, via_value(&items));
        assert!(page.contains(r#""debtor_number":"D-2""#) && !page.contains(r#""debtor_number":"D-1""#));
        // A record changed in the store.
        let first = items[0].0.id.to_string();
        table.update(&81, &first, |i| i.description = Some("changed in the store".into()));
        let items = read(&table, "D-2");
        let page = written(items.clone());
        assert_eq!(page, via_value(&items));
        assert!(page.contains("changed in the store"), "{page}");
        // Shared pages (no overrides) of the same records.
        let shared = table.page_after_shared(&81, None, 50, Hint::None, |_| true);
        let plain = page_shared(shared.clone(), &Fields::Default, invoices::OPT_IN).expect("writes");
        let items: Vec<&Invoice> = shared.items.iter().map(|r| &**r).collect();
        let direct = write_page(&items, shared.has_more, &Fields::Default, invoices::OPT_IN).expect("writes");
        assert_eq!(String::from_utf8_lossy(&plain.0), String::from_utf8_lossy(&direct.0));
    }

    /// Pages of the same records through different `fields`, shown in turn (the second round
    /// from [`mock_core::rendered`]), are each the page of their own projection: the cache tells
    /// projections apart, equal ones written differently (`only` in another spelling) alike.
    #[test]
    fn rendered_pages_follow_their_projection() {
        use crate::resources::invoices::{self, Invoice};
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
        let (db, _) = crate::seed::generate(42, anchor);
        let table: Table<Invoice> = db.invoices.clone();
        let page = table.page_after_shared(&81, None, 30, Hint::None, |_| true);
        let items: Vec<Viewed<Invoice>> = page
            .items
            .iter()
            .map(|i| (i.clone(), vec![("debtor_number", Value::from("D-9"))]))
            .collect();
        let projections = [
            None,
            Some(r#"{"only":["id","amount"]}"#),
            Some(r#"{"only":["id","public_url"]}"#),
            Some(r#"{"except":["amount"]}"#),
            Some(r#"{ "only" : [ "id", "amount" ] }"#),
        ];
        for round in 0..2 {
            for raw in projections {
                let fields = Fields::parse(raw).expect("fields");
                let data = viewed_via_value(&items, &fields, invoices::OPT_IN);
                let cursor = items.last().map(|(i, _)| i.id.to_string());
                let expected =
                    serde_json::to_vec(&json!({"data": data, "pagination": {"cursor": cursor}})).expect("writes");
                let written = page_viewed(items.clone(), true, &fields, invoices::OPT_IN).expect("writes");
                assert_eq!(
                    String::from_utf8_lossy(&written.0),
                    String::from_utf8_lossy(&expected),
                    "round {round}, fields {raw:?}"
                );
            }
        }
    }

    /// Invoices written from the stored record with [`Invoice::view_overrides`] are the bytes of
    /// the value route: each record as a `Value`, the overrides put in place of its own values,
    /// then projected. The derived properties are there, with their values, wherever the
    /// projection shows them.
    ///
    /// [`Invoice::view_overrides`]: crate::resources::invoices::Invoice::view_overrides
    #[test]
    fn viewed_pages_are_the_bytes_of_the_value_route() {
        use crate::resources::invoices::{self, Invoice};
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
        let (db, _) = crate::seed::generate(7, anchor);
        for admin in [81, 82] {
            for raw in [
                "",
                r#"{"only":["id","debtor_number",{"lines":["description"]}]}"#,
                r#"{"except":["flow_code"]}"#,
            ] {
                let fields = Fields::parse(Some(raw)).expect(raw);
                let viewed: Vec<Viewed<Invoice>> = db
                    .invoices
                    .iter(&admin)
                    .map(|i| (Arc::new(i.clone()), i.view_overrides(&db)))
                    .collect();
                assert!(viewed.len() > 100);
                let data = viewed_via_value(&viewed, &fields, invoices::OPT_IN);
                let cursor = viewed.last().map(|(i, _)| i.id.to_string());
                let via_value =
                    serde_json::to_vec(&json!({ "data": data, "pagination": { "cursor": cursor } })).expect("writes");
                let one = entity_with(&*viewed[0].0, &viewed[0].1, &fields, invoices::OPT_IN).expect("an entity");
                assert_eq!(one, data[0], "{raw}");
                if raw.is_empty() {
                    let d = db
                        .debtors
                        .get(&admin, &viewed[0].0.debtor_id.to_string())
                        .expect("its debtor");
                    assert_eq!(one["debtor_number"], d.debtor_number.as_str());
                    assert_eq!(
                        one["credit_case_id"], one["active_credit_case_id"],
                        "the deprecated twin mirrors its successor"
                    );
                }
                let b = page_viewed(viewed, true, &fields, invoices::OPT_IN).expect("writes");
                assert_eq!(
                    String::from_utf8_lossy(&via_value),
                    String::from_utf8_lossy(&b.0),
                    "{raw}"
                );
            }
        }
    }
}
