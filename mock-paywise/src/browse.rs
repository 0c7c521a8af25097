//! What the dashboard's state browser and webhook view show of a paywise world (the [`Vendor`]
//! hooks of [`crate::world::Paywise`], served by [`mock_core::dashboard`]).
//!
//! Resources: debtors, claims, mandates and payments, the records v1 and v2 share, each as the
//! v1 Case Management API renders it, across the world's tenants (the company and access mode of
//! every token the world knows and of every company a Partner onboarded, company by company, test
//! mode first). Relations:
//!
//! | record | links to |
//! |---|---|
//! | debtor | its claims and mandates (a bounded scan of the tenant's claims and mandates: no key holds them by debtor) |
//! | claim | its debtor, its mandate and its payments (the store's `claim` key) |
//! | mandate | its debtor, its claims and their payments |
//! | payment | its claim and that claim's mandate |
//!
//! A search (`q`) is an id or, by the store's keys, a debtor's or claim's `your_reference`; a
//! mandate's file number (`reference_number`) and a payment's `your_reference` have no key and
//! are found by a scan of at most [`mock_core::dashboard::SCAN_LIMIT`] records.
//!
//! Webhooks: the v1 endpoints and deliveries and the v2 ones in one list. Only v2 deliveries can
//! be redelivered (`POST /v2/webhook-deliveries/{id}/redeliver/`, which makes a new delivery);
//! paywise's v1 API has no redeliver, and a Partner endpoint's delivery is redelivered through
//! the Partner API.
//!
//! [`Vendor`]: mock_core::world::Vendor

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use chrono::{DateTime, Utc};
use mock_core::dashboard::{self, BrowseError, Browsed, Link, Page, PageQuery, Resource, Webhooks};
use mock_core::query::QueryParams;
use mock_core::store::Hint;
use mock_core::{Record, Table};
use uuid::Uuid;

use crate::list::{Origin, Resource as _};
use crate::resources::claims::Claim;
use crate::resources::debtors::Debtor;
use crate::resources::mandates::Mandate;
use crate::resources::payments::Payment;
use crate::state::{AccessMode, AppState, Db, Scope};

/// The resources, their titles and what a search finds them by.
const RESOURCES: [(&str, &str, &str); 4] = [
    ("debtors", "Debtors", "id or your_reference"),
    ("claims", "Claims", "id or your_reference"),
    ("mandates", "Mandates", "id or reference_number (scanned)"),
    ("payments", "Payments", "id or your_reference (scanned)"),
];

/// Every tenant the world's records can live in, in order: the scopes of its tokens and both
/// access modes of every company a Partner onboarded.
fn scopes(state: &AppState, db: &Db) -> Vec<Scope> {
    let mut all: Vec<Scope> = state.tokens.entries().values().map(|g| g.scope).collect();
    for c in db.partner_companies.iter_all() {
        for mode in [AccessMode::Test, AccessMode::Production] {
            all.push(Scope {
                company: c.number,
                mode,
            });
        }
    }
    all.sort_by_key(|s| (s.company, s.mode == AccessMode::Production));
    all.dedup();
    all
}

fn tenant(db: &Db, scope: Scope) -> String {
    let mode = match scope.mode {
        AccessMode::Test => "test",
        AccessMode::Production => "production",
    };
    format!("{}/{mode}", crate::v2::meta::company_id_of(db, scope.company))
}

fn origin(origin: &str) -> Origin {
    Origin {
        origin: origin.to_string(),
        path: String::new(),
        query: QueryParams::default(),
    }
}

fn debtor_label(d: &Debtor) -> String {
    let name = match (&d.organization, &d.person) {
        (Some(o), _) => o.name.clone(),
        (None, Some(p)) => match &p.first_name {
            Some(first) => format!("{first} {}", p.last_name),
            None => p.last_name.clone(),
        },
        (None, None) => String::new(),
    };
    format!("debtor {name}")
}

fn claim_label(c: &Claim) -> String {
    let reference = c.your_reference.clone().unwrap_or_else(|| c.id.to_string());
    format!("claim {reference} ({})", c.submission_state.as_str())
}

fn mandate_label(m: &Mandate) -> String {
    format!("mandate {}", m.reference_number)
}

fn payment_label(p: &Payment) -> String {
    format!("payment {} {:?} of {}", p.amount.value, p.amount.currency, p.value_date)
}

/// The mandate a claim was accepted into (`{href, id, reference_number}`), if any.
fn mandate_of(c: &Claim) -> Option<String> {
    c.mandate.as_ref()?.get("id")?.as_str().map(str::to_string)
}

/// The records of `table` in `scope` that `test` selects, from at most the first
/// [`dashboard::SCAN_LIMIT`] of the scope.
fn scan<'a, V: Record<Scope = Scope>>(table: &'a Table<V>, scope: &Scope, test: impl Fn(&V) -> bool) -> Vec<&'a V> {
    table
        .iter(scope)
        .take(dashboard::SCAN_LIMIT)
        .filter(|v| test(v))
        .take(dashboard::LINK_LIMIT)
        .collect()
}

fn ids(ids: impl IntoIterator<Item = Uuid>) -> impl Iterator<Item = String> {
    ids.into_iter().map(|i| i.to_string())
}

struct Ctx<'a> {
    db: &'a Db,
    origin: Origin,
}

impl Ctx<'_> {
    fn item(
        &self,
        (resource, kind): (&'static str, Option<&'static str>),
        (id, scope): (Uuid, Scope),
        label: String,
        record: serde_json::Value,
        links: Vec<Link>,
        names: Vec<String>,
    ) -> Browsed {
        Browsed {
            resource,
            id: id.to_string(),
            label,
            tenant: tenant(self.db, scope),
            record,
            links,
            names,
            kind,
        }
    }

    fn debtor(&self, d: &Debtor) -> Browsed {
        let db = self.db;
        let claims = scan(&db.claims, &d.scope, |c| c.debtor == d.id);
        let mut links = dashboard::links(
            &db.claims,
            &d.scope,
            "claims",
            ids(claims.iter().map(|c| c.id)),
            claim_label,
        );
        let mandates = scan(&db.mandates, &d.scope, |m| m.debtor == d.id);
        links.extend(dashboard::links(
            &db.mandates,
            &d.scope,
            "mandates",
            ids(mandates.iter().map(|m| m.id)),
            mandate_label,
        ));
        let names = d.your_reference.clone().into_iter().collect();
        self.item(
            ("debtors", None),
            (d.id, d.scope),
            debtor_label(d),
            d.render(&self.origin),
            links,
            names,
        )
    }

    fn claim(&self, c: &Claim) -> Browsed {
        let db = self.db;
        let mut links = dashboard::links(&db.debtors, &c.scope, "debtors", ids([c.debtor]), debtor_label);
        links.extend(dashboard::links(
            &db.mandates,
            &c.scope,
            "mandates",
            mandate_of(c),
            mandate_label,
        ));
        let payments = db.payments.lookup(&c.scope, "claim", &c.id.to_string()).map(|p| p.id);
        links.extend(dashboard::links(
            &db.payments,
            &c.scope,
            "payments",
            ids(payments),
            payment_label,
        ));
        let names = c.your_reference.clone().into_iter().collect();
        self.item(
            ("claims", Some("claim")),
            (c.id, c.scope),
            claim_label(c),
            c.render(&self.origin),
            links,
            names,
        )
    }

    fn mandate(&self, m: &Mandate) -> Browsed {
        let db = self.db;
        let mut links = dashboard::links(&db.debtors, &m.scope, "debtors", ids([m.debtor]), debtor_label);
        links.extend(dashboard::links(
            &db.claims,
            &m.scope,
            "claims",
            ids(m.claims.iter().map(|c| c.id)),
            claim_label,
        ));
        let payments = m.claims.iter().flat_map(|c| c.payments.iter().copied());
        links.extend(dashboard::links(
            &db.payments,
            &m.scope,
            "payments",
            ids(payments),
            payment_label,
        ));
        let mut names = vec![m.reference_number.clone()];
        names.extend(m.further_reference_numbers.iter().cloned());
        self.item(
            ("mandates", Some("mandate")),
            (m.id, m.scope),
            mandate_label(m),
            crate::resources::mandates::render_full(db, m, &self.origin),
            links,
            names,
        )
    }

    fn payment(&self, p: &Payment) -> Browsed {
        let db = self.db;
        let mut links = dashboard::links(&db.claims, &p.scope, "claims", ids([p.claim]), claim_label);
        let mandate = db.claims.get(&p.scope, &p.claim.to_string()).and_then(mandate_of);
        links.extend(dashboard::links(
            &db.mandates,
            &p.scope,
            "mandates",
            mandate,
            mandate_label,
        ));
        let names = p.your_reference.clone().into_iter().collect();
        self.item(
            ("payments", None),
            (p.id, p.scope),
            payment_label(p),
            p.render(&self.origin),
            links,
            names,
        )
    }
}

/// The resources and their counts.
pub fn resources(state: &AppState) -> Vec<Resource> {
    state.store.read(|db| {
        Resource::list(
            &RESOURCES,
            &[db.debtors.len(), db.claims.len(), db.mandates.len(), db.payments.len()],
        )
    })
}

/// A page of `resource`.
pub fn records(state: &AppState, resource: &str, query: &PageQuery) -> Result<Page, BrowseError> {
    state.store.read(|db| {
        let s = &scopes(state, db);
        let cx = Ctx {
            db,
            origin: origin(&query.origin),
        };
        let mandate_named =
            |m: &Mandate, q: &str| m.reference_number == q || m.further_reference_numbers.iter().any(|r| r == q);
        let payment_named = |p: &Payment, q: &str| p.your_reference.as_deref() == Some(q);
        Ok(match resource {
            "debtors" => dashboard::browse(&db.debtors, s, query, &["your_reference"], None, |d| cx.debtor(d)),
            "claims" => dashboard::browse(&db.claims, s, query, &["your_reference"], None, |c| cx.claim(c)),
            "mandates" => dashboard::browse(&db.mandates, s, query, &[], Some(&mandate_named), |m| cx.mandate(m)),
            "payments" => dashboard::browse(&db.payments, s, query, &[], Some(&payment_named), |p| cx.payment(p)),
            other => return Err(BrowseError::UnknownResource(other.to_string())),
        })
    })
}

/// One record of `resource`.
pub fn record(state: &AppState, resource: &str, id: &str, at: &str) -> Result<Browsed, BrowseError> {
    let missing = || BrowseError::NotFound(format!("no {resource} record {id:?} in this world"));
    state.store.read(|db| {
        let cx = Ctx { db, origin: origin(at) };
        match resource {
            "debtors" => db.debtors.find(id).map(|d| cx.debtor(d)).ok_or_else(missing),
            "claims" => db.claims.find(id).map(|c| cx.claim(c)).ok_or_else(missing),
            "mandates" => db.mandates.find(id).map(|m| cx.mandate(m)).ok_or_else(missing),
            "payments" => db.payments.find(id).map(|p| cx.payment(p)).ok_or_else(missing),
            other => Err(BrowseError::UnknownResource(other.to_string())),
        }
    })
}

fn ts(at: DateTime<Utc>) -> String {
    mock_core::control::timestamp(at)
}

fn last_attempt(at: Option<DateTime<Utc>>, status: Option<u16>, error: Option<String>) -> Vec<dashboard::Attempt> {
    at.map(|at| dashboard::Attempt {
        at: ts(at),
        status,
        error: error.filter(|e| !e.is_empty()),
    })
    .into_iter()
    .collect()
}

/// The newest `limit` records of `table` over `scopes`, by `created`, newest first.
fn newest<V: Record<Scope = Scope>>(
    table: &Table<V>,
    scopes: &[Scope],
    limit: usize,
    created: impl Fn(&V) -> DateTime<Utc>,
) -> Vec<std::sync::Arc<V>> {
    let mut all: Vec<std::sync::Arc<V>> = scopes
        .iter()
        .flat_map(|s| {
            let len = table.scope_len(s);
            table
                .page_offset_shared(s, len.saturating_sub(limit), limit, Hint::None, None)
                .items
        })
        .collect();
    all.sort_by_key(|v| std::cmp::Reverse((created(v), v.seq())));
    all.truncate(limit);
    all
}

/// The v1 and v2 endpoints and the newest `limit` deliveries of both.
pub fn webhooks(state: &AppState, limit: usize) -> Webhooks {
    state.store.read(|db| {
        let s = &scopes(state, db);
        let mut subscriptions = Vec::new();
        for scope in s {
            subscriptions.extend(db.webhooks.iter(scope).map(|w| dashboard::Subscription {
                id: w.id.to_string(),
                api: "v1",
                url: w.url.clone(),
                active: w.enabled(),
                events: w.events.clone(),
                tenant: tenant(db, *scope),
            }));
            subscriptions.extend(db.v2_webhooks.iter(scope).map(|w| dashboard::Subscription {
                id: w.id.to_string(),
                api: "v2",
                url: w.url.clone(),
                active: w.enabled(),
                events: w.events.clone(),
                tenant: tenant(db, *scope),
            }));
        }
        let mut deliveries: Vec<(DateTime<Utc>, dashboard::Delivery)> = Vec::new();
        for d in newest(&db.deliveries, s, limit, |d| d.created) {
            deliveries.push((
                d.created,
                dashboard::Delivery {
                    id: d.id.to_string(),
                    api: "v1",
                    subscription: d.webhook.to_string(),
                    event: d.event.clone(),
                    status: d.status.as_str().to_string(),
                    attempts: d.attempts,
                    attempt_log: last_attempt(d.last_attempt_at, d.response_status, d.error.clone()),
                    next_attempt_at: d.next_attempt_at.map(ts),
                    created_at: ts(d.created),
                    redeliver: false,
                },
            ));
        }
        for d in newest(&db.v2_deliveries, s, limit, |d| d.created_at) {
            deliveries.push((
                d.created_at,
                dashboard::Delivery {
                    id: d.id.to_string(),
                    api: "v2",
                    subscription: d.webhook.to_string(),
                    event: d.event_type.clone(),
                    status: d.status.as_str().to_string(),
                    attempts: d.attempts,
                    attempt_log: last_attempt(d.last_attempt_at, d.response_status_code, Some(d.error_message.clone())),
                    next_attempt_at: d.next_retry_at.map(ts),
                    created_at: ts(d.created_at),
                    redeliver: d.partner.is_none() && d.status.is_settled(),
                },
            ));
        }
        deliveries.sort_by_key(|d| std::cmp::Reverse(d.0));
        deliveries.truncate(limit);
        Webhooks {
            subscriptions,
            deliveries: deliveries.into_iter().map(|(_, d)| d).collect(),
            total_deliveries: db.deliveries.len() + db.v2_deliveries.len(),
            note: Some(
                "paywise keeps the last attempt of each delivery; v2 deliveries can be redelivered (as a new delivery), v1 has no redeliver",
            ),
        }
    })
}

/// The v2 API's redeliver request for delivery `id`, with the token of its company.
pub fn redeliver(state: &AppState, id: &str) -> Result<Request, BrowseError> {
    let found = state.store.read(|db| {
        if let Some(d) = db.v2_deliveries.find(id) {
            return Ok((d.scope, d.partner));
        }
        if db.deliveries.find(id).is_some() {
            return Err(BrowseError::Refused(
                "paywise's v1 API has no redeliver; send a test event (POST /v1/webhooks/{id}/test/) instead".into(),
            ));
        }
        Err(BrowseError::NotFound(format!(
            "no webhook delivery {id:?} in this world"
        )))
    })?;
    let (scope, partner) = found;
    if partner.is_some() {
        return Err(BrowseError::Refused(
            "a Partner endpoint's delivery is redelivered through the Partner API (POST /partner/v2/webhook-deliveries/{id}/redeliver/)".into(),
        ));
    }
    let token = state
        .tokens
        .entries()
        .into_iter()
        .find(|(_, g)| g.scope == scope && g.partner.is_none())
        .map(|(t, _)| t)
        .ok_or_else(|| BrowseError::Refused("no token of this delivery's company and access mode is known".into()))?;
    Request::builder()
        .method(Method::POST)
        .uri(format!("/v2/webhook-deliveries/{id}/redeliver/"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("Idempotency-Key", state.ids.uuid().to_string())
        .body(Body::empty())
        .map_err(|e| BrowseError::NotFound(format!("no webhook delivery {id:?}: {e}")))
}
