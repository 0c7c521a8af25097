//! paywise's named scenarios (see [`mock_core::scenario`]): starting states built through the
//! Case Management API v1 (which v2 sees too) in the past and moved to now by the time-driven
//! rules ([`crate::lifecycle`]), in the test mode of the default token's company.

use chrono::Duration;
use mock_core::scenario::{Scenario, Step};
use serde_json::json;

/// A consumer debtor, kept as `{debtor}`.
fn debtor(reference: &str) -> Step {
    Step::post(
        "/v1/debtors/",
        json!({
            "your_reference": reference,
            "acting_as": "consumer",
            "person": {"first_name": "Erika", "last_name": "Mustermann"},
            "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
        }),
    )
    .save("debtor", "/id")
}

/// A claim of `amount` on `{debtor}`, kept as `{claim}`.
fn claim(reference: &str, amount: &str) -> Step {
    Step::post(
        "/v1/claims/",
        json!({
            "debtor": "{debtor}",
            "your_reference": reference,
            "main_claim_amount": {"value": amount, "currency": "EUR"},
            "total_claim_amount": {"value": amount, "currency": "EUR"},
            "additional_charges": [],
            "subject_matter": "Lieferung Büromöbel", "occurence_date": null, "document_reference": reference,
            "document_date": "{today-45}", "due_date": "{today-14}", "reminder_date": null, "delay_date": null,
            "starting_approach": "extrajudicial", "claim_disputed": false, "obligation_fulfilled": true
        }),
    )
    .save("claim", "/id")
}

fn release() -> Step {
    Step::patch("/v1/claims/{claim}/", json!({"submission_state": "released"}))
}

/// Every scenario of the paywise mock.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "paywise-claim-question",
            about: "Test mode: claim SC-QUESTION (1,250.00 EUR), released 5 days ago, went under review and \
                    paywise asked the client a question (a yes/no request to client, open): the claim is \
                    client_response_pending (v2: awaiting_client_response).",
            span: Duration::days(5),
            steps: vec![
                Step::put(
                    "/_mock/paywise/lifecycle",
                    json!({"outcome": "client_response_pending"}),
                ),
                debtor("SC-QUESTION"),
                claim("SC-QUESTION", "1250.00"),
                release(),
                Step::days(5),
                Step::put("/_mock/paywise/lifecycle", json!({"outcome": "accepted"})),
            ],
        },
        Scenario {
            name: "paywise-judicial-mandate",
            about: "Test mode: claim SC-JUDICIAL (2,400.00 EUR), released 45 days ago and accepted into a \
                    mandate that is in the judicial stage (judicial_dunning, with its status updates); the \
                    debtor paid 400.00 EUR of it, which the monthly statement published since (on the 3rd) \
                    shows.",
            span: Duration::days(45),
            steps: vec![
                debtor("SC-JUDICIAL"),
                claim("SC-JUDICIAL", "2400.00"),
                release(),
                Step::days(6),
                Step::post(
                    "/v1/payments/",
                    json!({"claim": "{claim}", "amount": {"value": "400.00", "currency": "EUR"}, "value_date": "{today}"}),
                ),
            ],
        },
    ]
}
