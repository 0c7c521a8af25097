//! Behaviour of the invoicing group: invoice upserts (matching, per-record errors and warnings,
//! payments, labels, lines, documents), block/resume transitions, payments and their tombstones,
//! VAT rates, payment conditions, files, orders and scopes. The clock is frozen and advanced by
//! hand, so `updated_at` moves deterministically.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use mock_core::Clock;
use mock_payt::MockPayt;
use mock_payt::state::Grant;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const START: &str = "2026-11-20T10:00:00Z";

async fn mock() -> MockPayt {
    let at = DateTime::parse_from_rfc3339(START).expect("valid").with_timezone(&Utc);
    MockPayt::test().seed(11).clock(Clock::frozen(at)).start().await
}

struct Api<'a> {
    m: &'a MockPayt,
    http: reqwest::Client,
    token: String,
}

impl<'a> Api<'a> {
    fn new(m: &'a MockPayt) -> Self {
        Self {
            m,
            http: reqwest::Client::new(),
            token: m.token().to_string(),
        }
    }

    fn with_token(m: &'a MockPayt, token: &str) -> Self {
        Self {
            m,
            http: reqwest::Client::new(),
            token: token.to_string(),
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let res = rb.bearer_auth(&self.token).send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, q: &[(&str, &str)]) -> (u16, Value) {
        let mut q = q.to_vec();
        q.push(("administration_id", "81"));
        self.send(self.http.get(format!("{}{path}", self.m.uri())).query(&q))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.m.uri())).json(&body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.patch(format!("{}{path}", self.m.uri())).json(&body))
            .await
    }

    async fn invoices(&self, invoices: Value) -> Value {
        let (s, b) = self
            .post("/v1/invoices", json!({"administration_id": "81", "invoices": invoices}))
            .await;
        assert_eq!(s, 201, "{b}");
        b
    }

    async fn invoice(&self, number: &str) -> Value {
        let fields = json!({"only": [
            "id", "invoice_number", "invoice_identifier", "open_amount", "total_amount", "book_open_amount",
            "book_total_amount", "payment_date", "updated_at", "sent_at", "labels", "flow_code", "debtor_id",
            "invoice_lines", "document_url", "active_credit_case_id", "description"
        ]})
        .to_string();
        let (s, b) = self
            .get(
                &format!("/v1/invoices/{number}"),
                &[("identifier_type", "invoice_number"), ("fields", &fields)],
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    async fn payments_of(&self, invoice_number: &str) -> Vec<Value> {
        let (s, b) = self
            .get(
                "/v1/payments",
                &[("invoice_numbers", invoice_number), ("per_page", "500")],
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["data"].as_array().cloned().unwrap_or_default()
    }

    fn tick(&self) {
        self.m.state().clock.advance(Duration::seconds(30));
    }
}

fn debtor_number(m: &MockPayt) -> String {
    m.state()
        .store
        .read(|db| db.debtors.iter(&81).next().map(|d| d.debtor_number.clone()))
        .expect("a debtor")
}

fn new_invoice(debtor: &str, number: &str, total: &str, open: &str) -> Value {
    json!({
        "invoice_number": number, "currency_code": "EUR", "invoice_date": "2026-11-01", "due_date": "2026-12-01",
        "debtor_number": debtor, "amount_total": total, "amount_open": open,
        "book_amount_total": total, "book_amount_open": open
    })
}

#[tokio::test]
async fn upsert_creates_then_updates_by_number_and_by_identifier() {
    let m = mock().await;
    let api = Api::new(&m);
    let d = debtor_number(&m);
    let out = api.invoices(json!([new_invoice(&d, "T-1", "1000", "-600")])).await;
    assert_eq!(out, json!({"success": true, "count": 1, "errors": {}}));
    let created = api.invoice("T-1").await;
    assert_eq!(created["total_amount"], "1000.00");
    assert_eq!(created["open_amount"], "-600.00");
    assert_eq!(created["updated_at"], START);

    // Same number again: an update of the same record, and updated_at moves.
    api.tick();
    let mut again = new_invoice(&d, "T-1", "1000", "1000");
    again["invoice_identifier"] = json!("ERP-1");
    again["description"] = json!("second");
    api.invoices(json!([again])).await;
    let updated = api.invoice("T-1").await;
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["description"], "second");
    assert_eq!(updated["invoice_identifier"], "ERP-1");
    assert!(updated["updated_at"].as_str() > created["updated_at"].as_str());

    // Matching by identifier first: the number can change.
    let mut renamed = new_invoice(&d, "T-1-RENAMED", "1000", "1000");
    renamed["invoice_identifier"] = json!("ERP-1");
    api.invoices(json!([renamed])).await;
    assert_eq!(api.invoice("T-1-RENAMED").await["id"], created["id"]);
    let (s, _) = api
        .get("/v1/invoices/T-1", &[("identifier_type", "invoice_number")])
        .await;
    assert_eq!(s, 404);

    // A number that belongs to another identified invoice cannot be taken.
    let mut other = new_invoice(&d, "T-2", "10", "10");
    other["invoice_identifier"] = json!("ERP-2");
    api.invoices(json!([other])).await;
    let mut clash = new_invoice(&d, "T-2", "10", "10");
    clash["invoice_identifier"] = json!("ERP-3");
    let out = api.invoices(json!([clash])).await;
    assert_eq!(out["errors"], json!({"T-2": ["invoice_number_taken"]}));
    assert_eq!(out["success"], false);
}

#[tokio::test]
async fn per_record_errors_leave_the_other_records_processed() {
    let m = mock().await;
    let api = Api::new(&m);
    let d = debtor_number(&m);
    let mut unknown = new_invoice(&d, "E-1", "10", "10");
    unknown["debtor_number"] = json!("NO-SUCH-DEBTOR");
    let mut no_debtor = new_invoice(&d, "E-2", "10", "10");
    no_debtor.as_object_mut().map(|o| o.remove("debtor_number"));
    let mut bad_vat = new_invoice(&d, "E-3", "121", "121");
    bad_vat["invoice_lines"] = json!([{"description": "x", "vat_rate_code": "NOPE", "total_incl_tax_amount": "121"}]);
    let mut bad_pct = new_invoice(&d, "E-4", "121", "121");
    bad_pct["invoice_lines"] =
        json!([{"description": "x", "vat_rate_code": "H21", "vat_percentage": "19", "total_incl_tax_amount": "121"}]);
    let mut no_doc = new_invoice(&d, "E-5", "10", "10");
    no_doc["document"] =
        json!({"checksum": base64::engine::general_purpose::STANDARD.encode([9u8; 64]), "filename": "a.pdf"});
    let out = api
        .invoices(json!([
            unknown,
            no_debtor,
            bad_vat,
            bad_pct,
            no_doc,
            new_invoice(&d, "E-OK", "10", "10")
        ]))
        .await;
    assert_eq!(
        out,
        json!({"success": true, "count": 1, "errors": {
            "E-1": ["debtor_not_found"], "E-2": ["debtor_required"], "E-3": ["vat_rate_not_found"],
            "E-4": ["vat_percentage_mismatch"], "E-5": ["document_not_found"]
        }})
    );
    let numbers: Vec<String> = m
        .state()
        .store
        .read(|db| db.invoices.iter(&81).map(|i| i.invoice_number.to_string()).collect());
    assert!(numbers.contains(&"E-OK".to_string()));
    assert!(!numbers.iter().any(|n| n.starts_with("E-") && n != "E-OK"));

    // Absurd amounts are refused, not overflowed.
    for huge in ["79228162514264337593543950335", "1e40", "0.0000000000001"] {
        let mut inv = new_invoice(&d, "E-HUGE", huge, "1");
        inv["invoice_lines"] = json!([{"description": "x", "vat_rate_code": "H21", "total_excl_tax_amount": "1", "product_quantity": huge}]);
        let (s, b) = api
            .post("/v1/invoices", json!({"administration_id": 81, "invoices": [inv]}))
            .await;
        assert_eq!(s, 422, "{huge}: {b}");
    }

    // A request-level error (one bad item) processes nothing.
    let mut bad = new_invoice(&d, "E-BAD", "10", "10");
    bad["amount_open"] = json!("ten");
    let (s, b) = api
        .post(
            "/v1/invoices",
            json!({"administration_id": "81", "invoices": [new_invoice(&d, "E-FINE", "1", "1"), bad]}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["code"], "invalid_parameter");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("invoices[1][amount_open]")),
        "{b}"
    );
    let (s, _) = api
        .get("/v1/invoices/E-FINE", &[("identifier_type", "invoice_number")])
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn an_open_amount_change_without_payments_creates_a_payment_and_pays_the_case() {
    let m = mock().await;
    let api = Api::new(&m);
    // An invoice in a credit case, with an open amount.
    let (number, case_id, open, total) = m
        .state()
        .store
        .read(|db| {
            db.invoices.iter(&81).find_map(|i| {
                (i.active_credit_case_id.is_some() && i.open_amount > Decimal::ZERO && i.open_amount == i.total_amount)
                    .then(|| {
                        (
                            i.invoice_number.to_string(),
                            i.active_credit_case_id.unwrap_or_default(),
                            i.open_amount,
                            i.total_amount,
                        )
                    })
            })
        })
        .expect("an unpaid invoice in a credit case");
    let case_open = |m: &MockPayt| {
        m.state()
            .store
            .read(|db| db.credit_cases.get(&81, &case_id.to_string()).map(|c| c.open_amount))
            .expect("case")
    };
    let case_before = case_open(&m);
    let before = api.payments_of(&number).await.len();
    api.tick();
    let (s, out) = api
        .patch(
            "/v1/invoices",
            json!({"administration_id": 81, "invoices": [{"invoice_number": number, "amount_open": "0"}]}),
        )
        .await;
    assert_eq!((s, out["count"].clone()), (200, json!(1)), "{out}");
    let inv = api.invoice(&number).await;
    assert_eq!(inv["open_amount"], "0.00");
    assert_eq!(inv["payment_date"], "2026-11-20");
    let payments = api.payments_of(&number).await;
    assert_eq!(payments.len(), before + 1);
    let created = payments.last().expect("a payment");
    assert_eq!(created["total_amount"], json!(format!("{:.2}", open)));
    assert_eq!(created["transaction_type"], "payment");
    assert_eq!(created["updated_at"], inv["updated_at"]);
    assert_eq!(case_open(&m), (case_before - open).max(Decimal::ZERO));
    let (_, paid) = api
        .get("/v1/invoices", &[("paid", "true"), ("invoice_numbers", &number)])
        .await;
    assert_eq!(paid["data"].as_array().map(Vec::len), Some(1));

    // Reopening creates a reversal and clears payment_date.
    api.patch(
        "/v1/invoices",
        json!({"administration_id": 81, "invoices": [{"invoice_number": number, "amount_open": total.to_string()}]}),
    )
    .await;
    let inv = api.invoice(&number).await;
    assert_eq!(inv["payment_date"], Value::Null);
    let payments = api.payments_of(&number).await;
    assert_eq!(
        payments.last().map(|p| p["transaction_type"].clone()),
        Some(json!("reversal"))
    );
}

#[tokio::test]
async fn payments_are_replaced_by_origin_identifier_and_removed_ones_are_tombstoned() {
    let m = mock().await;
    let api = Api::new(&m);
    let d = debtor_number(&m);
    let mut inv = new_invoice(&d, "P-1", "100", "40");
    inv["payments"] = json!([
        {"amount": "50", "origin_identifier": "PAY-A", "payment_date": "2026-11-05"},
        {"amount": "10", "origin_identifier": "PAY-B", "payment_date": "2026-11-06", "transaction_type": "credit"}
    ]);
    assert_eq!(api.invoices(json!([inv.clone()])).await["warnings"], Value::Null);
    let payments = api.payments_of("P-1").await;
    assert_eq!(payments.len(), 2);
    let b_id = payments[1]["id"].clone();

    // Leave PAY-B out: it is removed and appears in the deleted list; PAY-A is updated in place.
    api.tick();
    inv["amount_open"] = json!("30");
    inv["book_amount_open"] = json!("30");
    inv["payments"] = json!([{"amount": "70", "origin_identifier": "PAY-A", "payment_date": "2026-11-05"}]);
    let out = api.invoices(json!([inv.clone()])).await;
    assert_eq!(out["count"], 1, "{out}");
    let payments = api.payments_of("P-1").await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["total_amount"], "70.00");
    let (_, deleted) = api
        .get("/v1/payments/deleted", &[("deleted_after", "2026-11-20T00:00:00Z")])
        .await;
    let tomb: Vec<&Value> = deleted["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["id"] == b_id)
        .collect();
    assert_eq!(tomb.len(), 1, "{deleted}");
    assert_eq!(tomb[0]["origin_identifier"], "PAY-B");
    assert_eq!(tomb[0]["deleted_at"], "2026-11-20T10:00:30Z");

    // The payments do not add up to total - open: processed with a warning.
    inv["payments"] = json!([{"amount": "5", "origin_identifier": "PAY-A"}]);
    let out = api.invoices(json!([inv.clone()])).await;
    assert_eq!(out["warnings"], json!({"P-1": ["payments_do_not_match_open_amount"]}));
    assert_eq!(out["count"], 1);

    // An origin identifier of another invoice's payment is refused.
    let mut other = new_invoice(&d, "P-2", "100", "95");
    other["payments"] = json!([{"amount": "5", "origin_identifier": "PAY-A"}]);
    let out = api.invoices(json!([other])).await;
    assert_eq!(out["errors"], json!({"P-2": ["payment_origin_identifier_taken"]}));

    // Deleted payments also list by id; the 90-day window clamps older deleted_after values.
    let (s, all) = api
        .get(
            "/v1/payments/deleted",
            &[("deleted_after", "2020-01-01T00:00:00Z"), ("per_page", "500")],
        )
        .await;
    assert_eq!(s, 200);
    let ids: Vec<u64> = all["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str().and_then(|s| s.parse().ok()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn labels_sent_at_and_documents() {
    let m = mock().await;
    let api = Api::new(&m);
    let d = debtor_number(&m);
    let mut inv = new_invoice(&d, "L-1", "10", "10");
    inv["labels"] = json!(["a", "b"]);
    api.invoices(json!([inv.clone()])).await;
    assert_eq!(
        api.invoice("L-1").await["labels"],
        json!([{"name": "a"}, {"name": "b"}])
    );
    // Omitted: unchanged. Given: full replace.
    inv.as_object_mut().map(|o| o.remove("labels"));
    api.invoices(json!([inv.clone()])).await;
    assert_eq!(api.invoice("L-1").await["labels"].as_array().map(Vec::len), Some(2));
    inv["labels"] = json!(["c"]);
    api.invoices(json!([inv.clone()])).await;
    assert_eq!(api.invoice("L-1").await["labels"], json!([{"name": "c"}]));

    // sent_at: set while unsent, then it cannot change (a warning, the rest is processed).
    inv["sent_at"] = json!("2026-11-02T09:00:00Z");
    api.invoices(json!([inv.clone()])).await;
    inv["sent_at"] = json!("2026-11-03T09:00:00Z");
    inv["description"] = json!("still processed");
    let out = api.invoices(json!([inv.clone()])).await;
    assert_eq!(
        out["warnings"],
        json!({"L-1": ["sent_at_not_changeable_after_sending"]})
    );
    let shown = api.invoice("L-1").await;
    assert_eq!(shown["sent_at"], "2026-11-02T09:00:00Z");
    assert_eq!(shown["description"], "still processed");

    // A document uploaded through POST /v1/files (and PUT to its url) can be attached, then
    // destroyed.
    let content = b"%PDF-1.4\n% L-1\n%%EOF\n".to_vec();
    let checksum = mock_payt::storage::checksum(&content);
    let (s, files) = api
        .post(
            "/v1/files",
            json!({"administration_id": 81, "files": [{"byte_size": content.len(), "checksum": checksum, "content_type": "application/pdf"}]}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(files.as_array().map(Vec::len), Some(1));
    assert_eq!(files[0]["expires_at"], "2026-11-20T11:00:00Z");
    let url = files[0]["url"].as_str().expect("an upload url");
    assert!(url.starts_with(&m.uri()), "{url}");
    let put = api.http.put(url).body(content).send().await.expect("sent");
    assert_eq!(put.status(), 200);
    inv["document"] = json!({"checksum": checksum, "filename": "L-1.pdf"});
    assert_eq!(api.invoices(json!([inv.clone()])).await["count"], 1);
    assert!(api.invoice("L-1").await["document_url"].is_string());
    inv["document"] = json!({"destroy": true});
    api.invoices(json!([inv.clone()])).await;
    assert_eq!(api.invoice("L-1").await["document_url"], Value::Null);

    // Invoice lines: amounts computed from the VAT rate.
    inv["invoice_lines"] = json!([
        {"description": "b", "vat_rate_code": "L9", "total_excl_tax_amount": "100", "line_order": 2},
        {"description": "a", "vat_rate_code": "H21", "total_incl_tax_amount": "121", "line_order": 1}
    ]);
    api.invoices(json!([inv.clone()])).await;
    let lines = api.invoice("L-1").await["invoice_lines"].clone();
    assert_eq!(lines[0]["description"], "a");
    assert_eq!(lines[0]["total_excl_tax_amount"], "100.00");
    assert_eq!(lines[0]["vat_amount"], "21.00");
    assert_eq!(lines[1]["total_incl_tax_amount"], "109.00");
    assert_eq!(lines[1]["vat_percentage"], "9.0");
}

#[tokio::test]
async fn patch_updates_existing_invoices_only() {
    let m = mock().await;
    let api = Api::new(&m);
    let number = m
        .state()
        .store
        .read(|db| db.invoices.iter(&81).next().map(|i| i.invoice_number.to_string()))
        .expect("an invoice");
    let before = api.invoice(&number).await;
    api.tick();
    let (s, out) = api
        .patch(
            "/api/v1/invoices",
            json!({"administration_id": "81", "invoices": [
                {"invoice_number": number, "description": "patched"},
                {"invoice_number": "NOPE-1"}, {"invoice_number": "NOPE-2"}
            ]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        out,
        json!({"success": true, "count": 1, "errors": {"not_found": ["NOPE-1", "NOPE-2"]}})
    );
    let after = api.invoice(&number).await;
    assert_eq!(after["description"], "patched");
    assert_eq!(after["total_amount"], before["total_amount"]);
    assert!(after["updated_at"].as_str() > before["updated_at"].as_str());
    let count = m.state().store.read(|db| db.invoices.scope_len(&81));
    api.patch(
        "/v1/invoices",
        json!({"administration_id": "81", "invoices": [{"invoice_number": "NEW-VIA-PATCH", "amount_open": "1"}]}),
    )
    .await;
    assert_eq!(m.state().store.read(|db| db.invoices.scope_len(&81)), count);
}

#[tokio::test]
async fn block_and_resume_transitions() {
    let m = mock().await;
    let api = Api::new(&m);
    let number = m
        .state()
        .store
        .read(|db| {
            db.invoices
                .iter(&81)
                .find(|i| !i.blocked_via_api)
                .map(|i| i.invoice_number.to_string())
        })
        .expect("an unblocked invoice");
    let before = api.invoice(&number).await;
    assert_ne!(before["flow_code"], "blocked");

    // unblocked -> blocked.
    api.tick();
    let (s, out) = api
        .patch(
            "/v1/invoices/block",
            json!({"administration_id": 81, "invoice_numbers": [number]}),
        )
        .await;
    assert_eq!((s, out), (200, json!({"success": true, "count": 1, "errors": {}})));
    let blocked = api.invoice(&number).await;
    assert_eq!(blocked["flow_code"], "blocked");
    assert!(blocked["updated_at"].as_str() > before["updated_at"].as_str());
    // blocked -> blocked: a warning, nothing changes.
    api.tick();
    let (_, out) = api
        .patch(
            "/v1/invoices/block",
            json!({"administration_id": 81, "invoice_numbers": [number]}),
        )
        .await;
    assert_eq!(out["warnings"], json!({number.clone(): ["already_blocked"]}));
    assert_eq!(api.invoice(&number).await["updated_at"], blocked["updated_at"]);
    // blocked -> unblocked.
    let (_, out) = api
        .patch(
            "/v1/invoices/resume",
            json!({"administration_id": 81, "invoice_numbers": [number]}),
        )
        .await;
    assert_eq!(out["count"], 1);
    assert_eq!(api.invoice(&number).await["flow_code"], before["flow_code"]);
    // unblocked -> resume: a warning (only API blocks are lifted).
    let (_, out) = api
        .patch(
            "/v1/invoices/resume",
            json!({"administration_id": 81, "invoice_numbers": [number]}),
        )
        .await;
    assert_eq!(out["warnings"], json!({number.clone(): ["not_blocked_through_api"]}));

    // A paused invoice stays paused: resume lifts only the API block.
    let paused = m.state().store.read(|db| {
        db.invoices
            .iter(&81)
            .find(|i| i.paused_at.is_some())
            .map(|i| i.invoice_number.to_string())
    });
    if let Some(p) = paused {
        api.patch(
            "/v1/invoices/resume",
            json!({"administration_id": 81, "invoice_numbers": [p]}),
        )
        .await;
        assert!(m.state().store.read(|db| {
            db.invoices
                .iter(&81)
                .any(|i| i.invoice_number == p && i.paused_at.is_some())
        }));
    }
    // Unknown numbers: errors.not_found; nothing named: 422.
    let (_, out) = api
        .patch(
            "/v1/invoices/block",
            json!({"administration_id": 81, "invoice_identifiers": ["nope"]}),
        )
        .await;
    assert_eq!(
        out,
        json!({"success": false, "count": 0, "errors": {"not_found": ["nope"]}})
    );
    let (s, out) = api.patch("/v1/invoices/block", json!({"administration_id": 81})).await;
    assert_eq!(s, 422);
    assert_eq!(out["code"], "missing_parameter");
    // A reason is read as every body string is: an object is refused before anything is blocked.
    let before = m.state().store.read(|db| db.fingerprint());
    let (s, out) = api
        .patch(
            "/v1/invoices/block",
            json!({"administration_id": 81, "invoice_identifiers": ["nope"], "reason": {"text": "x"}}),
        )
        .await;
    assert_eq!(s, 422, "{out}");
    assert_eq!(out["message"], "reason must be a string");
    assert_eq!(m.state().store.read(|db| db.fingerprint()), before);
}

#[tokio::test]
async fn order_by_date_pages_each_invoice_once() {
    let m = mock().await;
    let api = Api::new(&m);
    let total = m.state().store.read(|db| db.invoices.scope_len(&81));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..total {
        let mut q = vec![("order", "due_date_desc"), ("per_page", "17")];
        if let Some(c) = &cursor {
            q.push(("cursor", c.as_str()));
        }
        let (s, page) = api.get("/v1/invoices", &q).await;
        assert_eq!(s, 200, "{page}");
        for i in page["data"].as_array().into_iter().flatten() {
            seen.push((
                i["due_date"].as_str().unwrap_or_default().to_string(),
                i["id"].as_str().unwrap_or_default().to_string(),
            ));
        }
        cursor = page["pagination"]["cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), total);
    let mut unique: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), total);
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0));
}

#[tokio::test]
async fn vat_rates_and_payment_conditions_upsert_by_code() {
    let m = mock().await;
    let api = Api::new(&m);
    let (s, out) = api
        .post(
            "/v1/vat_rates",
            json!({"administration_id": 81, "vat_rates": [
                {"code": "T5", "rate": "5.5", "name": "Vijf"},
                {"code": "T6", "name": "no rate"},
                {"code": "L9", "rate": "9", "name": "Laag tarief"}
            ]}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        out,
        json!({"success": true, "count": 2, "errors": {"T6": ["rate_required_on_creation"]}})
    );
    let (_, list) = api.get("/v1/vat_rates", &[("per_page", "500")]).await;
    let rates = list["data"].as_array().cloned().unwrap_or_default();
    let t5 = rates.iter().find(|r| r["code"] == "T5").expect("created");
    assert_eq!(
        (t5["rate"].clone(), t5["category"].clone()),
        (json!(5.5), json!("regular"))
    );
    assert_eq!(rates.iter().filter(|r| r["code"] == "L9").count(), 1);
    assert_eq!(
        rates.iter().find(|r| r["code"] == "L9").map(|r| r["name"].clone()),
        Some(json!("Laag tarief"))
    );

    let count = m.state().store.read(|db| db.payment_conditions.scope_len(&81));
    let (s, out) = api
        .post(
            "/v1/payment_conditions",
            json!({"administration_id": 81, "payment_conditions": [{"code": "14D", "name": "Twee weken"}, {"code": "NEW", "name": "Nieuw"}]}),
        )
        .await;
    assert_eq!((s, out["count"].clone()), (201, json!(2)));
    assert_eq!(
        m.state().store.read(|db| db.payment_conditions.scope_len(&81)),
        count + 1
    );
    let name = m.state().store.read(|db| {
        db.payment_conditions
            .iter(&81)
            .find(|c| c.code == "14D")
            .map(|c| c.name.clone())
    });
    assert_eq!(name.as_deref(), Some("Twee weken"));
}

#[tokio::test]
async fn files_and_orders() {
    let m = mock().await;
    let api = Api::new(&m);
    let short = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
    let (s, out) = api
        .post(
            "/v1/files",
            json!({"administration_id": 81, "files": [{"byte_size": 10, "checksum": short, "content_type": "application/pdf"}]}),
        )
        .await;
    assert_eq!((s, out["code"].clone()), (422, json!("invalid_checksum_size")));
    // A seeded invoice document's checksum is known: [].
    let known = m
        .state()
        .store
        .read(|db| db.files.iter(&81).next().map(|f| f.checksum.clone()))
        .expect("seeded files");
    let (s, out) = api
        .post(
            "/v1/files",
            json!({"administration_id": 81, "files": [{"byte_size": 10, "checksum": known, "content_type": "application/pdf"}]}),
        )
        .await;
    assert_eq!((s, out), (201, json!([])));

    // Orders: CSV rows become draft lines; a binary file one draft line; duplicates are refused.
    let lines_before = m.state().store.read(|db| db.order_lines.scope_len(&81));
    let upload = |bytes: &[u8]| {
        let mut body = b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n81\r\n\
--B0UNDARY\r\nContent-Disposition: form-data; name=\"order[file]\"; filename=\"o.csv\"\r\n\r\n"
            .to_vec();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--B0UNDARY--\r\n");
        api.http
            .post(format!("{}/v1/orders", m.uri()))
            .header("content-type", "multipart/form-data; boundary=B0UNDARY")
            .body(body)
    };
    // More parts than an upload has any use for: refused, nothing kept.
    let mut many: Vec<u8> = (0..1000)
        .flat_map(|i| format!("--B0UNDARY\r\nContent-Disposition: form-data; name=\"x{i}\"\r\n\r\n\r\n").into_bytes())
        .collect();
    many.extend_from_slice(b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n81\r\n--B0UNDARY\r\nContent-Disposition: form-data; name=\"order[file]\"; filename=\"o.csv\"\r\n\r\nOL-M,1\r\n--B0UNDARY--\r\n");
    let (s, out) = api
        .send(
            api.http
                .post(format!("{}/v1/orders", m.uri()))
                .header("content-type", "multipart/form-data; boundary=B0UNDARY")
                .body(many),
        )
        .await;
    assert_eq!((s, out["code"].clone()), (422, json!("invalid_body")), "{out}");
    assert!(
        out["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 1000 parts")),
        "{out}"
    );
    assert_eq!(m.state().store.read(|db| db.order_lines.scope_len(&81)), lines_before);
    let (s, out) = api.send(upload(b"OL-A;10,50\nOL-B;3\n")).await;
    assert_eq!(s, 422, "a comma decimal is not an amount: {out}");
    let (s, out) = api
        .send(upload(
            b"amount,order_line_identifier,email\n10.5,OL-A,a@example.nl\n3,OL-B,\n",
        ))
        .await;
    assert_eq!(s, 201, "{out}");
    assert!(out["deeplink_url"].as_str().is_some_and(|u| u.contains("/orders/")));
    let (s, _) = api.send(upload(&[0x25, 0x50, 0x44, 0x46, 0xff, 0xfe, 0x00])).await;
    assert_eq!(s, 201);
    let (s, out) = api.send(upload(b"OL-C,1\nOL-A,2\n")).await;
    assert_eq!(
        (s, out["code"].clone()),
        (422, json!("duplicate_order_line_identifier"))
    );
    assert_eq!(
        m.state().store.read(|db| db.order_lines.scope_len(&81)),
        lines_before + 3
    );
    let fields =
        json!({"only": ["order_line_identifier", "amount", "claim_status", "claim", {"customer": ["email_address"]}]})
            .to_string();
    let (_, lines) = api
        .get(
            "/v1/order_lines",
            &[("order_line_identifiers", "OL-A,OL-B"), ("fields", &fields)],
        )
        .await;
    assert_eq!(
        lines["data"],
        json!([
            {"claim": true, "claim_status": "draft", "customer": {"email_address": "a@example.nl"}, "order_line_identifier": "OL-A", "amount": "10.50"},
            {"claim": true, "claim_status": "draft", "customer": null, "order_line_identifier": "OL-B", "amount": "3.00"}
        ])
    );
}

#[tokio::test]
async fn scopes_are_enforced() {
    let m = mock().await;
    m.state().tokens.insert(
        "ro",
        Grant {
            administrations: None,
            scopes: Some(
                ["invoices:read", "payments:read", "vat_rates:read", "order_lines:read"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        },
    );
    m.state().tokens.insert(
        "none",
        Grant {
            administrations: None,
            scopes: Some(std::collections::BTreeSet::new()),
        },
    );
    let ro = Api::with_token(&m, "ro");
    for path in ["/v1/invoices", "/v1/payments", "/v1/vat_rates", "/v1/order_lines"] {
        assert_eq!(ro.get(path, &[]).await.0, 200, "{path}");
    }
    for (path, scope) in [
        ("/v1/invoices", "invoices:write"),
        ("/v1/vat_rates", "vat_rates:write"),
        ("/v1/payment_conditions", "payment_conditions:write"),
        ("/v1/files", "files:write"),
        ("/v1/orders", "orders:write"),
    ] {
        let (s, b) = ro.post(path, json!({"administration_id": 81})).await;
        assert_eq!(
            (s, b),
            (
                403,
                json!({"code": "forbidden", "message": format!("Missing permission: {scope}")})
            ),
            "{path}"
        );
    }
    for path in ["/v1/invoices", "/v1/invoices/block", "/v1/invoices/resume"] {
        let (s, b) = ro.patch(path, json!({"administration_id": 81})).await;
        assert_eq!(
            (s, b["message"].clone()),
            (403, json!("Missing permission: invoices:write"))
        );
    }
    let none = Api::with_token(&m, "none");
    for (path, scope) in [
        ("/v1/invoices", "invoices:read"),
        ("/v1/invoices/deleted", "invoices:read"),
        ("/v1/payments", "payments:read"),
        ("/v1/payments/deleted", "payments:read"),
        ("/v1/vat_rates", "vat_rates:read"),
        ("/v1/order_lines", "order_lines:read"),
    ] {
        let (s, b) = none.get(path, &[("deleted_after", "2026-10-01")]).await;
        assert_eq!(
            (s, b["message"].clone()),
            (403, json!(format!("Missing permission: {scope}"))),
            "{path}"
        );
    }
}

#[tokio::test]
async fn fixtures_are_consistent() {
    let m = mock().await;
    m.state().store.read(|db| {
        for admin in [81u64, 82, 83] {
            assert!(db.payments.scope_len(&admin) >= 50);
            assert!(db.deleted_invoices.scope_len(&admin) >= 6);
            assert!(db.deleted_payments.scope_len(&admin) >= 5);
            assert!(db.vat_rates.scope_len(&admin) >= 8);
            assert!(db.order_lines.scope_len(&admin) >= 18);
            for inv in db.invoices.iter(&admin) {
                let paid: Decimal = db
                    .payments
                    .iter(&admin)
                    .filter(|p| p.invoice_id == inv.id)
                    .map(|p| p.total_amount)
                    .sum();
                assert_eq!(paid, inv.total_amount - inv.open_amount, "invoice {}", inv.id);
                assert_eq!(
                    inv.payment_date.is_some(),
                    inv.open_amount.is_zero(),
                    "invoice {}",
                    inv.id
                );
                assert!(!inv.payment_method.is_empty());
                let lines: Decimal = inv.invoice_lines.iter().map(|l| l.total_incl_tax_amount).sum();
                assert_eq!(lines, inv.total_amount, "invoice {}", inv.id);
                if let Some(c) = &inv.document_checksum {
                    assert!(db.files.iter(&admin).any(|f| &f.checksum == c));
                }
            }
            for d in db.deleted_invoices.iter(&admin) {
                assert!(db.invoices.get(&admin, &d.id.to_string()).is_none());
                assert!(d.deleted_at.date_naive() < mock_core::testing::ANCHOR_DATE);
            }
        }
    });
}

/// What every cap test compares before and after a refusal: the records of administration 81.
fn counts(m: &MockPayt) -> Vec<usize> {
    m.state().store.read(|db| {
        vec![
            db.invoices.scope_len(&81),
            db.debtors.scope_len(&81),
            db.payment_plans.scope_len(&81),
            db.order_lines.scope_len(&81),
            db.payments.scope_len(&81),
        ]
    })
}

fn assert_refused(s: u16, b: &Value, path: &str, max: usize) {
    assert_eq!(s, 422, "{path}: {b}");
    assert_eq!(b["code"], "invalid_parameter", "{path}: {b}");
    let message = b["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with(&format!("{path} has ")) && message.contains(&format!("at most {max} are allowed")),
        "{path}: {b}"
    );
}

#[tokio::test]
async fn every_list_of_a_request_is_capped_and_a_refusal_changes_nothing() {
    use mock_payt::limits::*;
    let m = mock().await;
    let api = Api::new(&m);
    let d = debtor_number(&m);
    let before = counts(&m);
    let many = |n: usize, v: Value| Value::Array(vec![v; n]);
    let invoice = new_invoice(&d, "CAP-1", "10", "10");

    // Bulk writes: 1,001 records.
    for (path, key) in [
        ("/v1/invoices", "invoices"),
        ("/v1/debtors", "debtors"),
        ("/v1/contacts", "contacts"),
        ("/v1/files", "files"),
        ("/v1/payment_conditions", "payment_conditions"),
        ("/v1/vat_rates", "vat_rates"),
        ("/v1/psp_mandates", "psp_mandates"),
    ] {
        let (s, b) = api
            .post(
                path,
                json!({"administration_id": 81, key: many(MAX_RECORDS + 1, invoice.clone())}),
            )
            .await;
        assert_refused(s, &b, key, MAX_RECORDS);
    }
    let (s, b) = api
        .patch(
            "/v1/messages",
            json!({"administration_id": 81, "messages": many(MAX_RECORDS + 1, json!({"id": "1", "read": true}))}),
        )
        .await;
    assert_refused(s, &b, "messages", MAX_RECORDS);
    // Payt's documented maxItems of 1,000 keys.
    for path in ["/v1/invoices/block", "/v1/invoices/resume"] {
        let (s, b) = api
            .patch(
                path,
                json!({"administration_id": 81, "invoice_numbers": many(MAX_KEYS + 1, json!("1"))}),
            )
            .await;
        assert_refused(s, &b, "invoice_numbers", MAX_KEYS);
    }
    for key in ["invoice_numbers", "invoice_identifiers", "credit_case_numbers"] {
        let (s, b) = api
            .post(
                "/v1/payment_plans",
                json!({"administration_id": 81, key: many(MAX_KEYS + 1, json!("1")),
                       "terms": [{"amount": "1", "due_date": "2027-01-01"}]}),
            )
            .await;
        assert_refused(s, &b, key, MAX_KEYS);
    }
    // Payment-plan terms.
    let (number, _, _) = crate::mock::free_invoice(&m);
    let (s, b) = api
        .post(
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number],
                   "terms": many(MAX_TERMS + 1, json!({"amount": "1", "due_date": "2027-01-01"}))}),
        )
        .await;
    assert_refused(s, &b, "terms", MAX_TERMS);
    // The lists inside one invoice.
    for (key, max, item) in [
        (
            "invoice_lines",
            MAX_INVOICE_LINES,
            json!({"description": "x", "total_excl_tax_amount": "1"}),
        ),
        (
            "payments",
            MAX_INVOICE_PAYMENTS,
            json!({"amount": "1", "payment_date": "2026-11-02"}),
        ),
        ("labels", MAX_LABELS, json!("label")),
    ] {
        let mut inv = invoice.clone();
        inv[key] = many(max + 1, item);
        let (s, b) = api
            .post("/v1/invoices", json!({"administration_id": 81, "invoices": [inv]}))
            .await;
        assert_refused(s, &b, &format!("invoices[0][{key}]"), max);
    }
    // Debtor labels: a per-record error of the bulk result, as the debtor's other field errors.
    let (s, b) = api
        .post(
            "/v1/debtors",
            json!({"administration_id": 81, "debtors": [{"debtor_number": "CAP-D", "debtor_identifier": "CAP-D", "name": "Cap",
                   "labels": many(MAX_LABELS + 1, json!("l"))}]}),
        )
        .await;
    assert_eq!((s, &b["errors"]["CAP-D"]), (201, &json!(["too_many_labels"])), "{b}");
    // An order file of 10,001 lines.
    let mut csv = String::from("order_line_identifier,amount\n");
    for i in 0..=MAX_ORDER_ROWS {
        csv.push_str(&format!("CAP-{i},1\n"));
    }
    let mut body = b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n81\r\n\
--B0UNDARY\r\nContent-Disposition: form-data; name=\"order[file]\"; filename=\"o.csv\"\r\n\r\n"
        .to_vec();
    body.extend_from_slice(csv.as_bytes());
    body.extend_from_slice(b"\r\n--B0UNDARY--\r\n");
    let (s, b) = api
        .send(
            api.http
                .post(format!("{}/v1/orders", m.uri()))
                .header("content-type", "multipart/form-data; boundary=B0UNDARY")
                .body(body),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (422, Some("invalid_order_file")), "{b}");
    assert!(b["message"].as_str().unwrap_or("").contains("at most 10000"), "{b}");

    assert_eq!(counts(&m), before, "a refused request changes nothing");
}

#[tokio::test]
async fn a_body_beyond_the_value_cap_is_refused_before_it_is_built() {
    let m = mock().await;
    let api = Api::new(&m);
    let before = counts(&m);
    let limits = mock_core::body::JSON_LIMITS;
    // 200,001 small values, and 20,001 empty objects.
    for body in [
        format!(
            "{{\"administration_id\":81,\"invoices\":[{}0]}}",
            "0,".repeat(limits.max_values)
        ),
        format!(
            "{{\"administration_id\":81,\"invoices\":[{}{{}}]}}",
            "{},".repeat(limits.max_objects)
        ),
    ] {
        let (s, b) = api
            .send(
                api.http
                    .post(format!("{}/v1/invoices", m.uri()))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!((s, b["code"].as_str()), (422, Some("invalid_body")), "{b}");
        assert!(
            b["message"].as_str().unwrap_or("").contains("at most 200000 values"),
            "{b}"
        );
    }
    // A form is held to the same limits.
    let form = "invoices[][invoice_number]=1&".repeat(limits.max_objects + 2);
    let (s, b) = api
        .send(
            api.http
                .post(format!("{}/v1/invoices", m.uri()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (422, Some("invalid_body")), "{b}");
    assert_eq!(counts(&m), before);
}

#[tokio::test]
async fn every_amount_of_a_write_follows_one_money_rule() {
    let m = mock().await;
    let api = Api::new(&m);
    let d = debtor_number(&m);
    let before = counts(&m);
    let rule = mock_payt::resources::invoices::MONEY_RULE;
    let (number, _, _) = crate::mock::free_invoice(&m);
    // Raw JSON so that the integer beyond 64 bits reaches the mock as the client wrote it.
    let huge = "123456789012345678901234567890";
    let bodies = [
        (
            "/v1/payment_plans",
            format!(
                r#"{{"administration_id":81,"invoice_numbers":["{number}"],"terms":[{{"amount":{huge},"due_date":"2027-01-01"}}]}}"#
            ),
            "terms[0][amount]",
        ),
        (
            "/v1/payment_plans",
            format!(
                r#"{{"administration_id":81,"invoice_numbers":["{number}"],"terms":[{{"amount":"1000000000000.01","due_date":"2027-01-01"}}]}}"#
            ),
            "terms[0][amount]",
        ),
        (
            "/v1/payment_plans",
            format!(
                r#"{{"administration_id":81,"invoice_numbers":["{number}"],"terms":[{{"amount":1e300,"due_date":"2027-01-01"}}]}}"#
            ),
            "terms[0][amount]",
        ),
        (
            "/v1/invoices",
            format!(
                r#"{{"administration_id":81,"invoices":[{{"invoice_number":"M-1","currency_code":"EUR","invoice_date":"2026-11-01","due_date":"2026-12-01","debtor_number":"{d}","amount_total":{huge},"amount_open":"1","book_amount_total":"1","book_amount_open":"1"}}]}}"#
            ),
            "invoices[0][amount_total]",
        ),
        (
            "/v1/invoices",
            format!(
                r#"{{"administration_id":81,"invoices":[{{"invoice_number":"M-1","currency_code":"EUR","invoice_date":"2026-11-01","due_date":"2026-12-01","debtor_number":"{d}","amount_total":"1","amount_open":"1","book_amount_total":"1","book_amount_open":"1","payments":[{{"origin_identifier":"P-1","amount":"-1e13","payment_date":"2026-11-02"}}]}}]}}"#
            ),
            "invoices[0][payments][0][amount]",
        ),
    ];
    for (path, body, field) in bodies {
        let (s, b) = api
            .send(
                api.http
                    .post(format!("{}{path}", m.uri()))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        let message = b["message"].as_str().unwrap_or("");
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("invalid_parameter")),
            "{field}: {b}"
        );
        assert!(message.starts_with(&format!("{field} is out of range")), "{field}: {b}");
        assert!(message.ends_with(rule), "{field}: {b}");
        assert!(
            !message.contains("e29") && !message.contains("e+"),
            "no float shown: {b}"
        );
    }
    // The bound itself is an amount.
    let (s, b) = api
        .post(
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number],
                   "terms": [{"amount": "1000000000000", "due_date": "2027-01-01"}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let mut after = before.clone();
    after[2] += 1;
    assert_eq!(counts(&m), after, "only the plan within the rule was made");
}

/// A plan's terms and a mandates list are read by the one list-of-objects reader (their own
/// wording kept), a plan's `cc_email_address` by the one e-mail check, and an order's
/// `administration_id` as every body's is: each refusal is a 422 that changes nothing.
#[tokio::test]
async fn plans_mandates_and_orders_read_their_bodies_with_the_shared_readers() {
    let m = mock().await;
    let api = Api::new(&m);
    let (number, _, _) = crate::mock::free_invoice(&m);
    let before = m.state().store.read(|db| db.fingerprint());
    let refused = [
        (
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number], "terms": []}),
            "invalid_parameter",
            "terms is empty: give at least one {amount, due_date} term",
        ),
        (
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number], "terms": "x"}),
            "invalid_parameter",
            "terms must be an array of {amount, due_date} objects",
        ),
        (
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number], "terms": [1]}),
            "invalid_parameter",
            "terms[0] must be an object with amount and due_date",
        ),
        (
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number], "terms": [{"amount": "10"}]}),
            "missing_parameter",
            "terms[0][due_date] is missing",
        ),
        (
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number],
                   "terms": [{"amount": "10", "due_date": "soon"}]}),
            "invalid_parameter",
            "terms[0][due_date] is not a valid date (\"soon\"): use YYYY-MM-DD",
        ),
        (
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": [number], "cc_email_address": "a@b",
                   "terms": [{"amount": "10", "due_date": "2027-01-01"}]}),
            "invalid_parameter",
            "cc_email_address is not a valid e-mail address: \"a@b\"",
        ),
        (
            "/v1/psp_mandates",
            json!({"administration_id": 81, "psp_mandates": []}),
            "invalid_parameter",
            "psp_mandates is empty: give at least one mandate",
        ),
        (
            "/v1/psp_mandates",
            json!({"administration_id": 81, "psp_mandates": ["x"]}),
            "invalid_parameter",
            "psp_mandates[0] must be an object with bank_account_name, bank_account_number and provider_code",
        ),
        (
            "/v1/orders",
            json!({"administration_id": {"id": 81}, "order": {"file": "a;b"}}),
            "invalid_parameter",
            "administration_id is invalid: expected an administration id such as 81",
        ),
        (
            "/v1/orders",
            json!({"administration_id": " ", "order": {"file": "a;b"}}),
            "missing_parameter",
            "administration_id is missing",
        ),
    ];
    for (path, body, code, message) in refused {
        let (s, out) = api.post(path, body.clone()).await;
        assert_eq!(
            (s, out["code"].as_str(), out["message"].as_str()),
            (422, Some(code), Some(message)),
            "{path} {body}"
        );
    }
    assert_eq!(
        m.state().store.read(|db| db.fingerprint()),
        before,
        "a refusal changes nothing"
    );
    // A form's single indexed term (`terms[0][...]`) is the list of that one term.
    let (s, out) = api
        .send(api.http.post(format!("{}/v1/payment_plans", m.uri())).form(&[
            ("administration_id", "81"),
            ("invoice_numbers[]", number.as_str()),
            ("terms[0][amount]", "10.00"),
            ("terms[0][due_date]", "2027-01-01"),
        ]))
        .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["payment_terms"].as_array().map(Vec::len), Some(1), "{out}");
}
