//! Payt's named scenarios (see [`mock_core::scenario`]): starting states built through the
//! Customer API in the past and moved to now by the time-driven rules ([`crate::lifecycle`]).
//! Each works in administration 81 with debtors of its own.

use chrono::Duration;
use mock_core::scenario::{Scenario, Step};
use serde_json::{Value, json};

/// A debtor of administration 81.
fn debtor(number: &str, name: &str) -> Step {
    Step::post(
        "/v1/debtors",
        json!({"administration_id": 81, "debtors": [
            {"debtor_number": number, "name": name, "debtor_identifier": format!("scenario-{number}")}
        ]}),
    )
}

/// An open invoice of `debtor`, sent now, dated today and due `due` (a `{today+N}` placeholder).
fn invoice(number: &str, debtor: &str, amount: &str, due: &str) -> Value {
    json!({
        "invoice_number": number, "debtor_number": debtor, "currency_code": "EUR",
        "invoice_date": "{today}", "due_date": due, "amount_total": amount, "amount_open": amount,
        "book_amount_total": amount, "book_amount_open": amount, "sent_at": "{now}",
        "description": format!("Scenario invoice {number}")
    })
}

/// Every scenario of the Payt mock.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "payt-overdue-invoices",
            about: "Administration 81, debtor SC-OVERDUE: five invoices sent 60 days ago, one at each \
                    step of the reminder flow today: SC-PRE (pre-reminder), SC-R1 (reminder 1), SC-R2 \
                    (reminder 2), SC-FINAL (final reminder) and SC-COLL (handed over to debt \
                    collection: a credit case at pre-summons).",
            span: Duration::days(60),
            steps: vec![
                debtor("SC-OVERDUE", "Achterstand B.V."),
                Step::post(
                    "/v1/invoices",
                    json!({"administration_id": 81, "invoices": [
                        invoice("SC-PRE", "SC-OVERDUE", "120.00", "{today+62}"),
                        invoice("SC-R1", "SC-OVERDUE", "240.50", "{today+50}"),
                        invoice("SC-R2", "SC-OVERDUE", "75.25", "{today+35}"),
                        invoice("SC-FINAL", "SC-OVERDUE", "980.00", "{today+20}"),
                        invoice("SC-COLL", "SC-OVERDUE", "310.00", "{today+8}"),
                    ]}),
                ),
            ],
        },
        Scenario {
            name: "payt-case-at-summons",
            about: "Administration 81, debtor SC-SUMMONS: invoice SC-CASE fell due 90 days ago, walked the \
                    reminder flow and is in debt collection: its credit case has had summons 1 and 2.",
            span: Duration::days(100),
            steps: vec![
                debtor("SC-SUMMONS", "Aanmaning B.V."),
                Step::post(
                    "/v1/invoices",
                    json!({"administration_id": 81, "invoices": [invoice("SC-CASE", "SC-SUMMONS", "1450.00", "{today+10}")]}),
                ),
            ],
        },
        Scenario {
            name: "payt-missed-term",
            about: "Administration 81, debtor SC-PLAN: invoice SC-PLAN-1 under an active payment plan of \
                    two terms whose first term (due 10 days ago) was missed: the term has expired, a task \
                    asks to contact the debtor, and the plan is deactivated in 5 days unless it is paid.",
            span: Duration::days(20),
            steps: vec![
                debtor("SC-PLAN", "Regeling B.V."),
                Step::post(
                    "/v1/invoices",
                    json!({"administration_id": 81, "invoices": [{
                        "invoice_number": "SC-PLAN-1", "debtor_number": "SC-PLAN", "currency_code": "EUR",
                        "invoice_date": "{today-30}", "due_date": "{today-16}", "amount_total": "600.00",
                        "amount_open": "600.00", "book_amount_total": "600.00", "book_amount_open": "600.00",
                        "sent_at": "{now}"
                    }]}),
                ),
                Step::post(
                    "/v1/payment_plans",
                    json!({"administration_id": 81, "invoice_numbers": ["SC-PLAN-1"], "terms": [
                        {"amount": "300.00", "due_date": "{today+10}"},
                        {"amount": "300.00", "due_date": "{today+40}"}
                    ]}),
                ),
            ],
        },
    ]
}
