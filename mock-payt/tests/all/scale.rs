//! Large worlds (`--scale N`, `seed::generate_scaled`): scale 0 is the ordinary fixtures exactly;
//! a small scale is deterministic, leaves the ordinary fixtures as they were, adds the documented
//! counts to administration 81, and its records are consistent with each other and pass the spec.

use crate::spec::harness;

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use harness::{Harness, Req, data};
use mock_core::testing::ANCHOR_DATE;
use mock_payt::MockPayt;
use mock_payt::format::at;
use mock_payt::seed::scale::{ADMINISTRATION, counts};
use mock_payt::seed::{generate_scaled, generate_sized};
use mock_payt::state::Db;
use rust_decimal::Decimal;

/// Odd, so the last group has one case.
const SCALE: u64 = 501;

#[test]
fn scale_0_is_the_ordinary_fixtures() {
    for size in [0, 1, 2] {
        let (plain, last_plain) = generate_sized(7, ANCHOR_DATE, size);
        let (scaled, last_scaled) = generate_scaled(7, ANCHOR_DATE, size, 0);
        assert_eq!(last_plain, last_scaled, "size {size}");
        assert!(
            plain.fingerprint() == scaled.fingerprint(),
            "size {size}: scale 0 changed the data"
        );
    }
}

/// The four tables scale records go to.
const SCALED_TABLES: [&str; 4] = ["debtors", "invoices", "payments", "credit_cases"];

#[test]
fn a_scaled_world_is_deterministic_and_keeps_the_ordinary_fixtures() {
    let (a, last_a) = generate_scaled(7, ANCHOR_DATE, 1, SCALE);
    let (b, last_b) = generate_scaled(7, ANCHOR_DATE, 1, SCALE);
    assert_eq!(last_a, last_b);
    assert!(a.fingerprint() == b.fingerprint(), "the same seed gave another world");
    let (c, _) = generate_scaled(8, ANCHOR_DATE, 1, SCALE);
    assert!(a.fingerprint() != c.fingerprint(), "another seed gave the same world");

    let (plain, last_plain) = generate_sized(7, ANCHOR_DATE, 1);
    let n = counts(SCALE);
    assert_eq!(
        last_a - last_plain,
        n.debtors + n.invoices + n.credit_cases + n.payments,
        "one id per scale record, after the fixtures'"
    );
    // Every other table is as it was, and so is every ordinary record of the four.
    for (x, y) in plain.fingerprint().iter().zip(a.fingerprint().iter()) {
        let table = x.split(':').next().unwrap_or_default();
        if !SCALED_TABLES.contains(&table) {
            assert!(x == y, "table {table} changed with the scale");
        }
    }
    fn kept<V: mock_core::Record + PartialEq + std::fmt::Debug>(
        name: &str,
        plain: &mock_core::Table<V>,
        scaled: &mock_core::Table<V>,
    ) {
        for r in plain.iter_all() {
            assert_eq!(
                scaled.find(&r.key()),
                Some(r),
                "{name} {} changed with the scale",
                r.key()
            );
        }
    }
    kept("debtor", &plain.debtors, &a.debtors);
    kept("invoice", &plain.invoices, &a.invoices);
    kept("payment", &plain.payments, &a.payments);
    kept("credit case", &plain.credit_cases, &a.credit_cases);

    // The documented counts, all in administration 81.
    let admin = ADMINISTRATION;
    let added = |x: usize, y: usize| (x - y) as u64;
    assert_eq!(
        added(a.debtors.scope_len(&admin), plain.debtors.scope_len(&admin)),
        n.debtors
    );
    assert_eq!(
        added(a.invoices.scope_len(&admin), plain.invoices.scope_len(&admin)),
        n.invoices
    );
    assert_eq!(
        added(a.credit_cases.scope_len(&admin), plain.credit_cases.scope_len(&admin)),
        n.credit_cases
    );
    assert_eq!(
        added(a.payments.scope_len(&admin), plain.payments.scope_len(&admin)),
        n.payments
    );
    assert_eq!(
        (n.debtors, n.invoices, n.credit_cases, n.payments),
        (251, 501, 501, 251)
    );
    for other in [82, 83] {
        assert_eq!(a.invoices.scope_len(&other), plain.invoices.scope_len(&other));
        assert_eq!(a.credit_cases.scope_len(&other), plain.credit_cases.scope_len(&other));
    }
}

#[test]
fn scale_records_are_consistent() {
    let (plain, first) = generate_sized(7, ANCHOR_DATE, 1);
    let (db, _) = generate_scaled(7, ANCHOR_DATE, 1, SCALE);
    check_consistency(&db, first, &plain);
}

fn check_consistency(db: &Db, first: u64, plain: &Db) {
    let admin = ADMINISTRATION;
    let anchor = fixtures::at_hour(ANCHOR_DATE, 0);
    let new = |id: u64| id > first;
    let mut paid: HashMap<u64, Decimal> = HashMap::new();
    for p in db.payments.iter(&admin).filter(|p| new(p.id)) {
        assert!(
            p.updated_at <= anchor && p.payment_date < ANCHOR_DATE,
            "payment {}",
            p.id
        );
        assert_eq!(p.total_amount, p.total_book_amount);
        *paid.entry(p.invoice_id).or_default() += p.total_amount;
    }
    let mut open_by_debtor: HashMap<u64, Decimal> = HashMap::new();
    let mut recent = 0;
    let invoices: Vec<_> = db.invoices.iter(&admin).filter(|i| new(i.id)).collect();
    for i in &invoices {
        assert_eq!(
            i.total_amount - i.open_amount,
            paid.get(&i.id).copied().unwrap_or_default(),
            "invoice {}: total less open is what was paid",
            i.id
        );
        assert!(i.open_amount > Decimal::ZERO, "invoice {} is in a case, so open", i.id);
        assert!(
            i.invoice_date < i.due_date && i.updated_at <= anchor,
            "invoice {}",
            i.id
        );
        assert!(db.debtors.get(&admin, &i.debtor_id.to_string()).is_some());
        *open_by_debtor.entry(i.debtor_id).or_default() += i.open_amount;
        if i.updated_at > anchor - Duration::days(30) {
            recent += 1;
        }
    }
    // `updated_after` a month back selects a part of them, neither none nor most.
    assert!(
        recent * 100 > invoices.len() && recent * 2 < invoices.len(),
        "{recent} of {} scale invoices changed in the last month",
        invoices.len()
    );
    for c in db.credit_cases.iter(&admin).filter(|c| new(c.id)) {
        assert_eq!(c.invoice_ids.len(), 1, "case {}", c.id);
        let i = db
            .invoices
            .get(&admin, &c.invoice_ids[0].to_string())
            .expect("the case's invoice exists");
        assert_eq!(i.active_credit_case_id, Some(c.id));
        assert_eq!(i.debtor_id, c.debtor_id);
        assert_eq!(
            c.total_amount,
            i.open_amount + c.debt_collection_costs + c.interest_costs
        );
        assert_eq!(c.open_amount, c.total_amount);
        assert_eq!(i.debt_collection_at, Some(c.started_at.into()));
        assert_eq!(
            (i.summons_1_at, i.notice_of_default_at),
            (c.summons_1_at, c.notice_of_default_at)
        );
        assert!(i.updated_at >= c.updated_at);
        for t in [
            Some(c.started_at),
            Some(c.updated_at),
            at(c.summons_1_at),
            at(c.summons_4_at),
            at(c.notice_of_default_at),
            at(c.forwarded_to_bailiff_at),
        ]
        .into_iter()
        .flatten()
        {
            assert!(t <= anchor, "case {} has a stage after the anchor", c.id);
        }
    }
    for d in db.debtors.iter(&admin).filter(|d| new(d.id)) {
        assert_eq!(
            Some(d.book_open_amount),
            open_by_debtor.get(&d.id).copied(),
            "debtor {}",
            d.id
        );
    }
    // Business numbers stay unique in the administration.
    fn unique<'a>(what: &str, values: impl Iterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for v in values {
            assert!(seen.insert(v), "{what} {v} twice");
        }
    }
    unique(
        "invoice number",
        db.invoices.iter(&admin).map(|i| i.invoice_number.as_str()),
    );
    unique(
        "debtor number",
        db.debtors.iter(&admin).map(|d| d.debtor_number.as_str()),
    );
    unique(
        "case number",
        db.credit_cases.iter(&admin).map(|c| c.case_number.as_str()),
    );
    unique(
        "deleted invoice number",
        db.invoices
            .iter(&admin)
            .map(|i| i.invoice_number.as_str())
            .chain(plain.deleted_invoices.iter(&admin).map(|d| d.invoice_number.as_str())),
    );
}

#[tokio::test]
async fn scale_records_pass_the_spec() {
    let (_, first) = generate_sized(mock_core::harness::DEFAULT_SEED, ANCHOR_DATE, 1);
    let mock = MockPayt::test().scale(SCALE).start().await;
    let mut h = Harness::new(&mock);
    for path in ["/v1/credit_cases", "/v1/invoices", "/v1/debtors", "/v1/payments"] {
        // The first page of scale records (the cursor is an id, that of the fixtures' last), and
        // the scale records a month's `updated_after` selects.
        let page = h
            .call(Req::get(path).admin(81).q("per_page", 100).q("cursor", first), 200)
            .await;
        let ids: Vec<u64> = data(&page.body)
            .iter()
            .filter_map(|r| r["id"].as_str().and_then(|s| s.parse().ok()))
            .collect();
        h.ensure(ids.len() == 100 && ids.iter().all(|&id| id > first), || {
            format!("{path} after {first}: {ids:?}")
        });
        h.call(
            Req::get(path)
                .admin(81)
                .q("per_page", 100)
                .q("updated_after", "2026-10-01T00:00:00Z"),
            200,
        )
        .await;
        if let Some(id) = ids.last()
            && path != "/v1/payments"
        {
            h.call(Req::get(format!("{path}/{id}")).admin(81), 200).await;
        }
    }
    let world = mock.worlds().list_json();
    h.ensure(world["worlds"][0]["scale"] == SCALE, || {
        format!("the world list: {world}")
    });
    h.finish();
}

/// The control API makes a large world on request and refuses a scale beyond its cap with a
/// message that names the cap, making nothing.
#[tokio::test]
async fn the_control_api_makes_a_scaled_world_and_caps_the_scale() {
    let mock = MockPayt::test().start().await;
    let base = format!("http://{}", mock.addr());
    let http = reqwest::Client::new();
    let create = |body: serde_json::Value| http.post(format!("{base}/_mock/worlds")).json(&body).send();

    let refused = create(serde_json::json!({"name": "huge", "scale": 2_000_001}))
        .await
        .expect("answers");
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.expect("a body");
    assert!(text.contains("scale may be at most 2000000"), "{text}");
    let listed: serde_json::Value = http
        .get(format!("{base}/_mock/worlds"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert!(
        listed["worlds"]
            .as_array()
            .is_some_and(|w| w.iter().all(|w| w["name"] != "huge")),
        "{listed}"
    );

    let made = create(serde_json::json!({"name": "big", "scale": 51}))
        .await
        .expect("answers");
    assert_eq!(made.status(), 201);
    let count = |world: &'static str| {
        let url = format!("{base}/_mock/w/{world}/v1/credit_cases?administration_id=81&per_page=500");
        let http = http.clone();
        async move {
            let page: serde_json::Value = http
                .get(url)
                .bearer_auth("payt_test_token")
                .send()
                .await
                .expect("answers")
                .json()
                .await
                .expect("JSON");
            page["data"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(count("big").await, count("default").await + 51);
}

/// A large world's memory is mostly its records (README, "Large worlds"): each stored record is
/// one allocation of its size and an `Arc`'s 16 bytes, served from the allocator's size class
/// above that (mimalloc's: ..., 320, 384, 448, 512, 640, 768, 896). These sizes keep a million
/// Payt credit cases, with their invoices, debtors and payments, under 2 GB resident; a field
/// added to one of these records can cross into the next class and cost 64 to 128 MB.
#[cfg(target_pointer_width = "64")]
#[test]
fn the_large_tables_records_fit_their_allocator_size_classes() {
    use mock_payt::resources::credit_cases::CreditCase;
    use mock_payt::resources::debtors::Debtor;
    use mock_payt::resources::invoices::Invoice;
    use mock_payt::resources::payments::Payment;
    let sizes = [
        ("invoice", size_of::<Invoice>(), 640),
        ("credit case", size_of::<CreditCase>(), 384),
        ("debtor", size_of::<Debtor>(), 512),
        ("payment", size_of::<Payment>(), 160),
    ];
    println!("{sizes:?}");
    for (record, size, class) in sizes {
        assert!(
            size + 16 <= class,
            "a stored {record} takes {size} + 16 bytes, above the {class} B class"
        );
    }
}
