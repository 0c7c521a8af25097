//! Large worlds (`--scale N`, `seed::generate_scaled`): scale 0 is the ordinary fixtures exactly;
//! a small scale is deterministic, leaves the ordinary fixtures as they were, adds the documented
//! counts to the fixture company's test mode, and its records are consistent with each other and
//! pass paywise's OpenAPI files.

use crate::spec::harness;

use std::collections::{HashMap, HashSet};

use harness::{Harness, Req};
use mock_core::testing::ANCHOR_DATE;
use mock_paywise::MockPaywise;
use mock_paywise::seed::scale::{SCOPE, counts};
use mock_paywise::seed::{generate_scaled, generate_sized};
use mock_paywise::state::{AccessMode, Scope};
use rust_decimal::Decimal;

/// Odd, so the last group has one claim.
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

#[test]
fn a_scaled_world_is_deterministic_keeps_the_fixtures_and_is_consistent() {
    let (a, last_a) = generate_scaled(7, ANCHOR_DATE, 1, SCALE);
    let (b, last_b) = generate_scaled(7, ANCHOR_DATE, 1, SCALE);
    assert_eq!(last_a, last_b);
    assert!(a.fingerprint() == b.fingerprint(), "the same seed gave another world");
    let (c, _) = generate_scaled(8, ANCHOR_DATE, 1, SCALE);
    assert!(a.fingerprint() != c.fingerprint(), "another seed gave the same world");

    let (plain, first) = generate_sized(7, ANCHOR_DATE, 1);
    let n = counts(SCALE);
    assert_eq!((n.debtors, n.claims, n.payments), (251, 501, 251));
    assert_eq!(
        last_a - first,
        n.debtors + n.claims + n.payments,
        "one sequence number each"
    );
    // A fingerprint is a line per record: the scaled world has every line of the plain one, and
    // its other lines are scale debtors, claims and payments.
    let (plain_lines, scaled_lines) = (plain.fingerprint(), a.fingerprint());
    let scaled: HashSet<&String> = scaled_lines.iter().collect();
    for line in &plain_lines {
        assert!(scaled.contains(line), "changed with the scale: {line}");
    }
    assert_eq!(
        (scaled_lines.len() - plain_lines.len()) as u64,
        n.debtors + n.claims + n.payments
    );
    let kept: HashSet<&String> = plain_lines.iter().collect();
    for line in scaled_lines.iter().filter(|l| !kept.contains(l)) {
        assert!(
            ["debtors: ", "claims: ", "payments: "]
                .iter()
                .any(|t| line.starts_with(t)),
            "a scale record outside the three tables: {line}"
        );
    }
    let production = Scope {
        company: SCOPE.company,
        mode: AccessMode::Production,
    };
    assert_eq!(a.claims.scope_len(&production), plain.claims.scope_len(&production));
    let added = |x: usize, y: usize| (x - y) as u64;
    assert_eq!(
        added(a.debtors.scope_len(&SCOPE), plain.debtors.scope_len(&SCOPE)),
        n.debtors
    );
    assert_eq!(
        added(a.claims.scope_len(&SCOPE), plain.claims.scope_len(&SCOPE)),
        n.claims
    );
    assert_eq!(
        added(a.payments.scope_len(&SCOPE), plain.payments.scope_len(&SCOPE)),
        n.payments
    );

    // Consistent: totals, debtors, payments both in the claim and in /v1/payments/.
    let anchor = fixtures::at_hour(ANCHOR_DATE, 0);
    let payments: HashMap<_, _> = a.payments.iter(&SCOPE).map(|p| (p.id, p)).collect();
    let mut states = HashSet::new();
    for c in a.claims.iter(&SCOPE).filter(|c| c.seq > first) {
        let paid: Decimal = c.payments.iter().map(|p| p.amount.value).sum();
        assert_eq!(
            c.total_claim_amount.value,
            c.main_claim_amount.value - paid,
            "claim {}",
            c.id
        );
        assert!(paid < c.main_claim_amount.value);
        assert!(a.debtors.get(&SCOPE, &c.debtor.to_string()).is_some());
        assert!(c.mandate.is_none() && c.submission_state.as_str() != "accepted");
        assert!(c.created < anchor && c.updated >= c.created);
        // The states the time-driven rules move changed recently enough that nothing is due at
        // the anchor's midnight (up to which the ordinary fixtures are settled).
        let moment = match c.submission_state.as_str() {
            "released" => Some(c.updated + chrono::Duration::days(1)),
            "under_review" => Some(c.updated + chrono::Duration::days(3)),
            _ => None,
        };
        if let Some(at) = moment {
            assert!(c.updated < anchor && at > anchor, "claim {} due at {at}", c.id);
        }
        assert!(c.document_date < c.due_date && c.due_date < c.reminder_date);
        for p in &c.payments {
            let listed = payments.get(&p.id).expect("the claim's payment is listed");
            assert_eq!((listed.claim, listed.amount), (c.id, p.amount));
            assert!(p.value_date < c.created.date_naive());
        }
        states.insert(c.submission_state);
    }
    assert_eq!(states.len(), 5, "every state but accepted: {states:?}");
    let due = mock_paywise::lifecycle::next_due(&a);
    assert!(due.is_none_or(|at| at > anchor), "a rule is due at {due:?}");
    let mut references = HashSet::new();
    for c in a.claims.iter(&SCOPE) {
        assert!(
            references.insert(c.your_reference.clone()),
            "{:?} twice",
            c.your_reference
        );
        assert!(
            references.insert(c.document_reference.clone()),
            "{:?} twice",
            c.document_reference
        );
    }
    let mut debtor_references = HashSet::new();
    for d in a.debtors.iter(&SCOPE) {
        assert!(
            debtor_references.insert(d.your_reference.clone()),
            "{:?} twice",
            d.your_reference
        );
    }
}

#[tokio::test]
async fn scale_records_pass_the_spec() {
    let mock = MockPaywise::test().scale(SCALE).start().await;
    let mut h = Harness::new(&mock);
    let first = h.call(Req::get("/v1/claims/?limit=1"), 200).await;
    let count = first["count"].as_u64().unwrap_or_default();
    for path in ["/v1/claims/", "/v1/debtors/", "/v1/payments/"] {
        // The last page of each list is scale records only.
        let page = h.call(Req::get(format!("{path}?limit=1")), 200).await;
        let count = page["count"].as_u64().unwrap_or_default();
        let last = h
            .call(
                Req::get(format!("{path}?limit=100&offset={}", count.saturating_sub(100))),
                200,
            )
            .await;
        let results = last["results"].as_array().cloned().unwrap_or_default();
        h.ensure(results.len() == 100, || {
            format!("{path}: the last page has {} records", results.len())
        });
        if let Some(id) = results.last().and_then(|r| r["id"].as_str()) {
            h.call(Req::get(format!("{path}{id}/")), 200).await;
        }
    }
    h.call(Req::get("/v1/claims/?limit=20&submission_state=rejected"), 200)
        .await;
    h.ensure(count > SCALE, || format!("{count} claims"));
    let worlds = mock.worlds().list_json();
    h.ensure(worlds["worlds"][0]["scale"] == SCALE, || {
        format!("the world list: {worlds}")
    });
    assert!(h.failures.is_empty(), "{}", h.failures.join("\n\n"));
}
