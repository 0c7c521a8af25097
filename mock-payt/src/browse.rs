//! What the dashboard's state browser and webhook view show of a Payt world (the [`Vendor`]
//! hooks of [`crate::world::Payt`], served by [`mock_core::dashboard`]).
//!
//! Resources: debtors, invoices, credit cases, payment plans and payments, each record as the
//! Customer API renders it, across the world's administrations (administration by
//! administration, each in creation order). Relations follow the ids the records carry:
//!
//! | record | links to |
//! |---|---|
//! | debtor | its invoices (the store's `debtor` key), and the credit cases and payment plans of those invoices |
//! | invoice | its debtor, credit case, payment plan and payments (the `invoice` key) |
//! | credit case | its debtor, invoices and payment plan |
//! | payment plan | its debtor, invoices and credit cases |
//! | payment | its invoice |
//!
//! A search (`q`) is an id or, by the store's keys, a debtor's number or identifier, an invoice's
//! number or identifier, a credit case's number or case number, a payment's origin identifier;
//! nothing is scanned.
//!
//! [`Vendor`]: mock_core::world::Vendor

use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use mock_core::dashboard::{self, BrowseError, Browsed, Link, Page, PageQuery, Resource, Webhooks};
use serde::Serialize;

use crate::resources::credit_cases::CreditCase;
use crate::resources::debtors::Debtor;
use crate::resources::invoices::Invoice;
use crate::resources::payment_plans::PaymentPlan;
use crate::resources::payments::Payment;
use crate::state::{AppState, Db};
use crate::webhooks::{Delivery, DeliveryStatus};

/// The resources, their titles and what a search finds them by.
const RESOURCES: [(&str, &str, &str); 5] = [
    ("debtors", "Debtors", "id, debtor_number or debtor_identifier"),
    ("invoices", "Invoices", "id, invoice_number or invoice_identifier"),
    ("credit_cases", "Credit cases", "id, credit_case_number or case_number"),
    ("payment_plans", "Payment plans", "id"),
    ("payments", "Payments", "id or origin_identifier"),
];

/// The administrations in creation order: the scopes every listing walks.
fn administrations(db: &Db) -> Vec<u64> {
    db.administrations.iter(&()).map(|a| a.id).collect()
}

fn debtor_label(d: &Debtor) -> String {
    format!("debtor {} {}", d.debtor_number, d.name)
}

fn invoice_label(i: &Invoice) -> String {
    format!("invoice {}", i.invoice_number)
}

fn case_label(c: &CreditCase) -> String {
    format!("credit case {}", c.credit_case_number)
}

fn plan_label(p: &PaymentPlan) -> String {
    let state = if p.active { "active" } else { "inactive" };
    format!("payment plan {} ({state})", p.id)
}

fn payment_label(p: &Payment) -> String {
    format!("payment {} of {}", p.total_amount, p.payment_date)
}

fn item(
    (resource, kind): (&'static str, Option<&'static str>),
    (id, admin): (u64, u64),
    label: String,
    record: &impl Serialize,
    links: Vec<Link>,
    names: Vec<String>,
) -> Browsed {
    Browsed {
        resource,
        id: id.to_string(),
        label,
        tenant: admin.to_string(),
        // Every Payt record is written to JSON by every answer that shows it (its maps have text
        // keys), so this cannot fail; if it ever did, the log says so rather than a silent null.
        record: serde_json::to_value(record).unwrap_or_else(|e| {
            tracing::error!(error = %e, resource, id, "the state browser cannot write a record as JSON");
            serde_json::Value::Null
        }),
        links,
        names: names.into_iter().filter(|n| !n.is_empty()).collect(),
        kind,
    }
}

fn ids(ids: impl IntoIterator<Item = u64>) -> impl Iterator<Item = String> {
    ids.into_iter().map(|i| i.to_string())
}

/// The links to the debtor `id` of administration `admin`.
fn debtor_of(db: &Db, admin: u64, id: u64) -> Vec<Link> {
    dashboard::links(&db.debtors, &admin, "debtors", ids([id]), debtor_label)
}

/// The links to the invoices `of` of administration `admin`.
fn invoices_of(db: &Db, admin: u64, of: impl IntoIterator<Item = u64>) -> Vec<Link> {
    dashboard::links(&db.invoices, &admin, "invoices", ids(of), invoice_label)
}

/// The links to the credit cases `of` of administration `admin`.
fn cases_of(db: &Db, admin: u64, of: impl IntoIterator<Item = u64>) -> Vec<Link> {
    dashboard::links(&db.credit_cases, &admin, "credit_cases", ids(of), case_label)
}

/// The links to the payment plans `of` of administration `admin`.
fn plans_of(db: &Db, admin: u64, of: impl IntoIterator<Item = u64>) -> Vec<Link> {
    dashboard::links(&db.payment_plans, &admin, "payment_plans", ids(of), plan_label)
}

fn debtor(db: &Db, d: &Debtor) -> Browsed {
    let admin = d.administration_id;
    let invoices: Vec<&Invoice> = db
        .invoices
        .lookup(&admin, "debtor", &d.id.to_string())
        .take(dashboard::LINK_LIMIT)
        .collect();
    let mut links = invoices_of(db, admin, invoices.iter().map(|i| i.id));
    links.extend(cases_of(
        db,
        admin,
        invoices.iter().filter_map(|i| i.active_credit_case_id),
    ));
    links.extend(plans_of(
        db,
        admin,
        invoices.iter().filter_map(|i| i.active_payment_plan_id),
    ));
    let names = vec![d.debtor_number.clone(), d.debtor_identifier.clone()];
    item(("debtors", None), (d.id, admin), debtor_label(d), d, links, names)
}

fn invoice(db: &Db, i: &Invoice) -> Browsed {
    let admin = i.administration_id;
    let mut links = debtor_of(db, admin, i.debtor_id);
    links.extend(cases_of(db, admin, i.active_credit_case_id));
    links.extend(plans_of(db, admin, i.active_payment_plan_id));
    let payments = db.payments.lookup(&admin, "invoice", &i.id.to_string()).map(|p| p.id);
    links.extend(dashboard::links(
        &db.payments,
        &admin,
        "payments",
        ids(payments),
        payment_label,
    ));
    let mut names = vec![i.invoice_number.to_string()];
    names.extend(i.invoice_identifier.as_deref().map(str::to_owned));
    item(
        ("invoices", Some("invoice")),
        (i.id, admin),
        invoice_label(i),
        i,
        links,
        names,
    )
}

fn credit_case(db: &Db, c: &CreditCase) -> Browsed {
    let admin = c.administration_id;
    let mut links = debtor_of(db, admin, c.debtor_id);
    links.extend(invoices_of(db, admin, c.invoice_ids.iter().copied()));
    let plans = c.active_payment_plan_id.into_iter().chain(c.payment_plan_id);
    links.extend(plans_of(db, admin, plans));
    let names = vec![c.credit_case_number.clone(), c.case_number.to_string()];
    item(
        ("credit_cases", Some("credit_case")),
        (c.id, admin),
        case_label(c),
        c,
        links,
        names,
    )
}

fn payment_plan(db: &Db, p: &PaymentPlan) -> Browsed {
    let admin = p.administration_id;
    let mut links = debtor_of(db, admin, p.debtor_id);
    links.extend(invoices_of(db, admin, p.invoice_ids.iter().copied()));
    links.extend(cases_of(db, admin, p.credit_case_ids.iter().copied()));
    item(
        ("payment_plans", Some("payment_plan")),
        (p.id, admin),
        plan_label(p),
        p,
        links,
        Vec::new(),
    )
}

fn payment(db: &Db, p: &Payment) -> Browsed {
    let admin = p.administration_id;
    let links = invoices_of(db, admin, [p.invoice_id]);
    let names = p.origin_identifier.as_deref().map(str::to_owned).into_iter().collect();
    item(("payments", None), (p.id, admin), payment_label(p), p, links, names)
}

/// The resources and their counts.
pub fn resources(state: &AppState) -> Vec<Resource> {
    state.store.read(|db| {
        Resource::list(
            &RESOURCES,
            &[
                db.debtors.len(),
                db.invoices.len(),
                db.credit_cases.len(),
                db.payment_plans.len(),
                db.payments.len(),
            ],
        )
    })
}

/// A page of `resource`.
pub fn records(state: &AppState, resource: &str, query: &PageQuery) -> Result<Page, BrowseError> {
    state.store.read(|db| {
        let scopes = administrations(db);
        let s = &scopes;
        Ok(match resource {
            "debtors" => dashboard::browse(&db.debtors, s, query, &["number", "identifier"], None, |d| {
                debtor(db, d)
            }),
            "invoices" => dashboard::browse(&db.invoices, s, query, &["number", "identifier"], None, |i| {
                invoice(db, i)
            }),
            "credit_cases" => dashboard::browse(&db.credit_cases, s, query, &["number", "case_number"], None, |c| {
                credit_case(db, c)
            }),
            "payment_plans" => dashboard::browse(&db.payment_plans, s, query, &[], None, |p| payment_plan(db, p)),
            "payments" => dashboard::browse(&db.payments, s, query, &["origin"], None, |p| payment(db, p)),
            other => return Err(BrowseError::UnknownResource(other.to_string())),
        })
    })
}

/// One record of `resource`.
pub fn record(state: &AppState, resource: &str, id: &str) -> Result<Browsed, BrowseError> {
    let missing = || BrowseError::NotFound(format!("no {resource} record {id:?} in this world"));
    state.store.read(|db| match resource {
        "debtors" => db.debtors.find(id).map(|d| debtor(db, d)).ok_or_else(missing),
        "invoices" => db.invoices.find(id).map(|i| invoice(db, i)).ok_or_else(missing),
        "credit_cases" => db.credit_cases.find(id).map(|c| credit_case(db, c)).ok_or_else(missing),
        "payment_plans" => db
            .payment_plans
            .find(id)
            .map(|p| payment_plan(db, p))
            .ok_or_else(missing),
        "payments" => db.payments.find(id).map(|p| payment(db, p)).ok_or_else(missing),
        other => Err(BrowseError::UnknownResource(other.to_string())),
    })
}

fn delivery(d: &Delivery) -> dashboard::Delivery {
    dashboard::Delivery {
        id: d.id.to_string(),
        api: "payt",
        subscription: d.subscription_id.to_string(),
        event: d.event.clone(),
        status: d.status.name().to_string(),
        attempts: u32::try_from(d.attempts.len()).unwrap_or(u32::MAX),
        attempt_log: d
            .attempts
            .iter()
            .map(|a| dashboard::Attempt {
                at: mock_core::control::timestamp(a.at),
                status: a.status_code,
                error: a.error.clone(),
            })
            .collect(),
        next_attempt_at: d.next_attempt_at.map(mock_core::control::timestamp),
        created_at: mock_core::control::timestamp(d.created_at),
        redeliver: d.status != DeliveryStatus::Pending,
    }
}

/// The subscriptions and the newest `limit` deliveries.
pub fn webhooks(state: &AppState, limit: usize) -> Webhooks {
    state.store.read(|db| {
        let subscriptions = db
            .webhooks
            .iter(&())
            .map(|s| dashboard::Subscription {
                id: s.id.to_string(),
                api: "payt",
                url: s.url.clone(),
                active: s.active,
                events: s.events.clone(),
                tenant: if s.administration_ids.is_empty() {
                    "all administrations".to_string()
                } else {
                    let ids: Vec<String> = s.administration_ids.iter().map(u64::to_string).collect();
                    ids.join(", ")
                },
            })
            .collect();
        let total = db.webhook_deliveries.len();
        let newest = db.webhook_deliveries.page_offset_shared(
            &(),
            total.saturating_sub(limit),
            limit,
            mock_core::store::Hint::None,
            None,
        );
        Webhooks {
            subscriptions,
            deliveries: newest.items.iter().rev().map(|d| delivery(d)).collect(),
            total_deliveries: total,
            note: None,
        }
    })
}

/// The control API's own redeliver request for delivery `id`.
pub fn redeliver(state: &AppState, id: &str) -> Result<Request, BrowseError> {
    if state.store.read(|db| db.webhook_deliveries.get(&(), id).is_none()) {
        return Err(BrowseError::NotFound(format!(
            "no webhook delivery {id:?} in this world"
        )));
    }
    Request::builder()
        .method(Method::POST)
        .uri(format!("/_mock/payt/webhook-deliveries/{id}/redeliver"))
        .body(Body::empty())
        .map_err(|e| BrowseError::NotFound(format!("no webhook delivery {id:?}: {e}")))
}
