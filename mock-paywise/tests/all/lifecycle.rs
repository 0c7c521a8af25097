//! The claim lifecycle: release, delete, documents, the simulated back office, mandates, status
//! updates, requests to client, payments and mandate balances.

use mock_paywise::resources::mandates::{Balance, COMPONENTS, PRINCIPAL};
use mock_paywise::{MockPaywise, PaywiseMock as _};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const BOUNDARY: &str = "LIFECYCLEBOUNDARY";

struct Api {
    m: MockPaywise,
    c: reqwest::Client,
}

impl Api {
    async fn start(seed: u64) -> Self {
        Self {
            m: MockPaywise::test().seed(seed).start().await,
            c: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.m.uri(), path)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.c.get(self.url(path)).bearer_auth(self.m.token())).await
    }

    async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.c.get(self.url(path)).bearer_auth(token)).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.c.post(self.url(path)).bearer_auth(self.m.token()).json(&body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.c.patch(self.url(path)).bearer_auth(self.m.token()).json(&body))
            .await
    }

    async fn delete(&self, path: &str) -> (u16, String) {
        let res = self
            .c
            .delete(self.url(path))
            .bearer_auth(self.m.token())
            .send()
            .await
            .expect("sent");
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    async fn upload(&self, path: &str, filename: &str, mime: &str, bytes: &[u8]) -> (u16, Value) {
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        self.send(
            self.c
                .post(self.url(path))
                .bearer_auth(self.m.token())
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(body),
        )
        .await
    }

    async fn new_claim(&self, reference: &str, main: &str) -> Value {
        let (s, debtor) = self
            .post(
                "/v1/debtors/",
                json!({
                    "your_reference": reference,
                    "acting_as": "consumer",
                    "person": {"first_name": "Erika", "last_name": "Mustermann"},
                    "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
                }),
            )
            .await;
        assert_eq!(s, 201, "{debtor}");
        let (s, claim) = self
            .post(
                "/v1/claims/",
                json!({
                    "debtor": debtor["id"],
                    "your_reference": reference,
                    "main_claim_amount": {"value": main, "currency": "EUR"},
                    "total_claim_amount": {"value": "0", "currency": "EUR"},
                    "additional_charges": [{"type": "reminder_fee", "your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null, "due_date": null, "amount": {"value": "5.00", "currency": "EUR"}}],
                    "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial",
                    "claim_disputed": false,
                    "obligation_fulfilled": true
                }),
            )
            .await;
        // The total must add up: compute it from the error and retry.
        assert_eq!(s, 400);
        let main: Decimal = main.parse().expect("decimal");
        let total = (main + Decimal::new(500, 2)).to_string();
        let (s, claim2) = self
            .post(
                "/v1/claims/",
                json!({
                    "debtor": debtor["id"],
                    "your_reference": reference,
                    "main_claim_amount": {"value": main.to_string(), "currency": "EUR"},
                    "total_claim_amount": {"value": total, "currency": "EUR"},
                    "additional_charges": [{"type": "reminder_fee", "your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null, "due_date": null, "amount": {"value": "5.00", "currency": "EUR"}}],
                    "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial",
                    "claim_disputed": false,
                    "obligation_fulfilled": true
                }),
            )
            .await;
        assert_eq!(s, 201, "{claim} {claim2}");
        claim2
    }

    async fn advance(&self, id: &str, to: &str) -> (u16, Value) {
        self.post(&format!("/_mock/paywise/claims/{id}/advance"), json!({"to": to}))
            .await
    }

    /// A new claim taken through review into a mandate; the mandate.
    async fn new_mandate(&self, reference: &str, main: &str) -> Value {
        let claim = self.new_claim(reference, main).await;
        let id = claim["id"].as_str().expect("id");
        let (s, _) = self
            .patch(&format!("/v1/claims/{id}/"), json!({"submission_state": "released"}))
            .await;
        assert_eq!(s, 200);
        assert_eq!(self.advance(id, "under_review").await.0, 200);
        let (s, out) = self.advance(id, "accepted").await;
        assert_eq!(s, 200, "{out}");
        out["mandate"].clone()
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

fn money(v: &Value) -> Decimal {
    v["value"].as_str().expect("money value").parse().expect("decimal")
}

fn check_balance(m: &Value) {
    let b = &m["legal_claim_balance"];
    let mut totals = [Decimal::ZERO; 3];
    for c in COMPONENTS {
        let legal = money(&b[format!("legal_claim_of_{c}")]);
        let paid = money(&b[format!("payment_on_{c}")]);
        let bal = money(&b[format!("balance_of_{c}")]);
        assert_eq!(bal, legal - paid, "{c} in {b}");
        if c != "principal_claim" {
            assert!(bal >= Decimal::ZERO, "{c} negative in {b}");
        }
        totals[0] += legal;
        totals[1] += paid;
        totals[2] += bal;
    }
    assert_eq!(money(&b["total_legal_claim"]), totals[0]);
    assert_eq!(money(&b["total_payment"]), totals[1]);
    assert_eq!(money(&b["total_balance"]), totals[2]);
    assert_eq!(money(&m["total_mandate_amount"]), totals[0]);
    let state = if totals[1] == Decimal::ZERO {
        "unpaid"
    } else if totals[2] <= Decimal::ZERO {
        "fully_paid"
    } else {
        "partially_paid"
    };
    assert_eq!(m["payment_state"], state);
}

#[tokio::test]
async fn release_is_the_only_client_transition() {
    let api = Api::start(11).await;
    let mut events = api.m.state().events.subscribe();
    let claim = api.new_claim("rel-1", "100.00").await;
    let path = format!("/v1/claims/{}/", id(&claim));
    // `submission_state` is optional in the vendor file: an empty PATCH (or a blank state)
    // changes nothing.
    let (s, e) = api.patch(&path, json!({})).await;
    assert_eq!((s, e["submission_state"].clone()), (200, json!("created")));
    let (s, e) = api.patch(&path, json!({"submission_state": ""})).await;
    assert_eq!((s, e["submission_state"].clone()), (200, json!("created")));
    let (s, e) = api.patch(&path, json!({"submission_state": "accepted"})).await;
    assert_eq!(s, 400);
    assert!(e["submission_state"][0].as_str().expect("msg").contains("release"));
    let (s, e) = api.patch(&path, json!({"submission_state": "nope"})).await;
    assert_eq!(
        (s, e),
        (400, json!({"submission_state": ["\"nope\" is not a valid choice."]}))
    );
    let (s, e) = api
        .patch(
            &path,
            json!({"submission_state": "released", "send_order_confirmation": "x"}),
        )
        .await;
    assert_eq!(
        (s, e),
        (400, json!({"send_order_confirmation": ["Must be a valid boolean."]}))
    );
    let (s, c) = api
        .patch(
            &path,
            json!({"submission_state": "released", "send_order_confirmation": true}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(c["submission_state"], "released");
    assert_ne!(c["updated"], claim["updated"]);
    // Any change after release is refused.
    let (s, e) = api.patch(&path, json!({"submission_state": "released"})).await;
    assert_eq!(s, 400);
    assert!(e["non_field_errors"][0].as_str().expect("msg").contains("released"));
    let (s, e) = api.delete(&path).await;
    assert_eq!(s, 400, "{e}");
    assert!(e.contains("non_field_errors") && e.contains("can be deleted"), "{e}");
    let kinds: Vec<String> = std::iter::from_fn(|| events.try_recv().ok()).map(|e| e.kind).collect();
    assert_eq!(kinds, ["claim.created", "claim.updated"]);
    // 404s: unknown, malformed, other access mode.
    assert_eq!(api.patch("/v1/claims/nope/", json!({})).await.0, 404);
    let (s, _) = api.get_as(&path, api.m.production_token()).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn delete_only_while_created_and_payments_go_with_the_claim() {
    let api = Api::start(12).await;
    let claim = api.new_claim("del-1", "50.00").await;
    let path = format!("/v1/claims/{}/", id(&claim));
    let (s, p) = api
        .post(
            "/v1/payments/",
            json!({"claim": claim["id"], "amount": {"value": "10.00", "currency": "EUR"}, "value_date": "2026-11-20"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, body) = api.delete(&path).await;
    assert_eq!((s, body.as_str()), (204, ""));
    assert_eq!(api.get(&path).await.0, 404);
    assert_eq!(api.get(&format!("/v1/payments/{}/", id(&p))).await.0, 404);
    assert_eq!(api.delete(&path).await.0, 404);
}

#[tokio::test]
async fn documents_are_uploaded_as_multipart_pdf_jpeg_or_png() {
    let api = Api::start(13).await;
    let claim = api.new_claim("doc-1", "80.00").await;
    let path = format!("/v1/claims/{}/documents/", id(&claim));
    let (s, c) = api
        .upload(&path, "Rechnung.pdf", "application/pdf", b"%PDF-1.4 x")
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["href"], claim["href"]);
    let docs = c["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["mime_type"], "application/pdf");
    assert_eq!(docs[0]["filename"], "Rechnung.pdf");
    assert!(docs[0]["id"].is_string());
    // Octet-stream falls back to the extension.
    let (s, c) = api
        .upload(&path, "scan.PNG", "application/octet-stream", b"\x89PNG")
        .await;
    assert_eq!(s, 201);
    assert_eq!(c["documents"][1]["mime_type"], "image/png");
    let (s, e) = api.upload(&path, "x.txt", "text/plain", b"hello").await;
    assert_eq!(s, 400);
    assert!(e["file"][0].is_string());
    let (s, e) = api.upload(&path, "x.pdf", "application/pdf", b"").await;
    assert_eq!((s, e), (400, json!({"file": ["The submitted file is empty."]})));
    let big = vec![b'a'; 5 * 1024 * 1024 + 1];
    let (s, e) = api.upload(&path, "big.pdf", "application/pdf", &big).await;
    assert_eq!(s, 400);
    assert!(e["file"][0].as_str().expect("msg").contains("too large"));
    // No `file` part, and a JSON body.
    let res = api
        .c
        .post(api.url(&path))
        .bearer_auth(api.m.token())
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({"file": ["No file was submitted."]})
    );
    // More parts than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1000): refused, nothing kept.
    let mut many: String = (0..1000)
        .map(|i| format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x{i}\"\r\n\r\n\r\n"))
        .collect();
    many.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--{BOUNDARY}--\r\n"
    ));
    let (s, e) = api
        .send(
            api.c
                .post(api.url(&path))
                .bearer_auth(api.m.token())
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(many),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let detail = e["detail"].as_str().expect("a DRF detail");
    assert!(detail.starts_with("Multipart form parse error - "), "{detail}");
    assert!(detail.contains("more than 1000 parts"), "{detail}");
    let (_, now) = api.get(&format!("/v1/claims/{}/", id(&claim))).await;
    assert_eq!(now["documents"].as_array().map(Vec::len), Some(2), "{now}");
    // The vendor file lists JSON among this operation's request types: no file in it.
    let (s, e) = api.post(&path, json!({})).await;
    assert_eq!((s, e), (400, json!({"file": ["No file was submitted."]})));
    // Allowed after release too.
    let cid = id(&claim);
    api.patch(&format!("/v1/claims/{cid}/"), json!({"submission_state": "released"}))
        .await;
    assert_eq!(api.upload(&path, "b.jpg", "image/jpeg", b"\xff\xd8").await.0, 201);
}

#[tokio::test]
async fn the_back_office_drives_review_into_a_mandate() {
    let api = Api::start(14).await;
    let mut events = api.m.state().events.subscribe();
    let claim = api.new_claim("bo-1", "200.00").await;
    let cid = id(&claim);
    // Not released yet.
    let (s, e) = api.advance(&cid, "under_review").await;
    assert_eq!(s, 400);
    assert!(e["to"][0].as_str().expect("msg").contains("created"));
    api.patch(&format!("/v1/claims/{cid}/"), json!({"submission_state": "released"}))
        .await;
    // A payment before acceptance counts when the mandate opens.
    let (s, _) = api
        .post(
            "/v1/payments/",
            json!({"claim": cid, "amount": {"value": "20.00", "currency": "EUR"}, "value_date": "2026-11-20"}),
        )
        .await;
    assert_eq!(s, 201);
    for (to, ok) in [
        ("accepted", false),
        ("under_review", true),
        ("under_review", false),
        ("client_response_pending", true),
    ] {
        let (s, e) = api.advance(&cid, to).await;
        assert_eq!(s == 200, ok, "{to}: {e}");
    }
    let (s, e) = api.advance(&cid, "bogus").await;
    assert_eq!((s, e), (400, json!({"to": ["\"bogus\" is not a valid choice."]})));
    let (s, out) = api.advance(&cid, "accepted").await;
    assert_eq!(s, 200, "{out}");
    let m = &out["mandate"];
    assert_eq!(out["claim"]["submission_state"], "accepted");
    assert_eq!(out["claim"]["mandate"]["id"], m["id"]);
    assert_eq!(out["claim"]["mandate"]["reference_number"], m["reference_number"]);
    assert_eq!(out["claim"]["mandate"]["href"], m["href"]);
    let r = m["reference_number"].as_str().expect("ref");
    assert!(r.starts_with('K') && r.len() == 9 && &r[3..4] == "-", "{r}");
    assert_eq!(m["debtor"]["name"], "Erika Mustermann");
    assert_eq!(m["legal_stage"], "extrajudicial");
    assert_eq!(m["processing_state"], "in_progress");
    assert_eq!(m["payment_state"], "partially_paid");
    assert_eq!(m["legal_claim_balance"]["total_legal_claim"]["value"], "205.00");
    assert_eq!(
        m["legal_claim_balance"]["payment_on_costs_interest_free"]["value"],
        "5.00"
    );
    assert_eq!(m["legal_claim_balance"]["payment_on_principal_claim"]["value"], "15.00");
    assert_eq!(m["legal_claim_balance"]["total_balance"]["value"], "185.00");
    assert_eq!(m["claims"][0]["id"], cid);
    assert_eq!(m["claims"][0]["payments"].as_array().map(Vec::len), Some(1));
    check_balance(m);
    // The review question moved to the mandate.
    assert_eq!(m["requests_to_client_summary"]["total_count"], 1);
    assert_eq!(m["requests_to_client_summary"]["unanswered_count"], 1);
    assert_eq!(m["requests_to_client_summary"]["has_pending"], true);
    // Accepted and rejected are final.
    assert_eq!(api.advance(&cid, "rejected").await.0, 400);
    let kinds: Vec<String> = std::iter::from_fn(|| events.try_recv().ok()).map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "claim.created",
            "claim.updated",
            "payment.created",
            "claim.updated",
            "claim.updated",
            "request_to_client.created",
            "claim.updated",
            "mandate.created"
        ]
    );
    let claim2 = api.new_claim("bo-2", "10.00").await;
    let c2 = id(&claim2);
    api.patch(&format!("/v1/claims/{c2}/"), json!({"submission_state": "released"}))
        .await;
    api.advance(&c2, "under_review").await;
    let (s, out) = api.advance(&c2, "rejected").await;
    assert_eq!((s, out["claim"]["submission_state"].clone()), (200, json!("rejected")));
    assert_eq!(out["mandate"], Value::Null);
    // Back office routes need a token and scope to it.
    let res = api
        .c
        .post(api.url(&format!("/_mock/paywise/claims/{c2}/advance")))
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 401);
    let res = api
        .c
        .post(api.url(&format!("/_mock/paywise/claims/{c2}/advance")))
        .bearer_auth(api.m.production_token())
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn mandates_list_filters_patch_and_isolation() {
    let api = Api::start(42).await;
    let (s, page) = api.get("/v1/mandates/?limit=1000").await;
    assert_eq!(s, 200);
    let all = page["results"].as_array().expect("results").clone();
    assert!(all.len() >= 8, "fixtures have mandates in every stage");
    for m in &all {
        check_balance(m);
        assert!(
            m["href"]
                .as_str()
                .expect("href")
                .ends_with(&format!("/v1/mandates/{}/", id(m)))
        );
    }
    for stage in [
        "extrajudicial",
        "judicial_dunning",
        "foreclosure",
        "long_term_monitoring",
        "ended",
    ] {
        let (_, p) = api.get(&format!("/v1/mandates/?legal_stage={stage}")).await;
        assert!(p["count"].as_u64().expect("count") > 0, "no mandate in {stage}");
        assert!(
            p["results"]
                .as_array()
                .expect("r")
                .iter()
                .all(|m| m["legal_stage"] == stage)
        );
    }
    for ps in [
        "in_progress",
        "paused",
        "canceled_by_client",
        "canceled_by_service_provider",
        "ended",
    ] {
        let (_, p) = api.get(&format!("/v1/mandates/?processing_state={ps}")).await;
        assert!(p["count"].as_u64().expect("count") > 0, "no mandate {ps}");
    }
    for ps in ["unpaid", "partially_paid", "fully_paid"] {
        let (_, p) = api.get(&format!("/v1/mandates/?payment_state={ps}")).await;
        assert!(
            p["results"]
                .as_array()
                .expect("r")
                .iter()
                .all(|m| m["payment_state"] == ps)
        );
        assert!(p["count"].as_u64().expect("count") > 0, "no mandate {ps}");
    }
    let (s, e) = api.get("/v1/mandates/?legal_stage=x&debtor=nope").await;
    assert_eq!(
        (s, e),
        (
            400,
            json!({"debtor": ["Enter a valid UUID."], "legal_stage": ["Select a valid choice. x is not one of the available choices."]})
        )
    );
    let first = &all[0];
    let (_, p) = api
        .get(&format!(
            "/v1/mandates/?reference_number={}",
            first["reference_number"].as_str().expect("r")
        ))
        .await;
    assert_eq!(p["count"], 1);
    // Debtor filters.
    let claim_id = first["claims"][0]["id"].as_str().expect("claim");
    let (_, claim) = api.get(&format!("/v1/claims/{claim_id}/")).await;
    assert_eq!(claim["mandate"]["id"], first["id"]);
    assert_eq!(claim["mandate"]["href"], first["href"]);
    let (_, debtor) = api
        .get(&format!("/v1/debtors/{}/", claim["debtor"].as_str().expect("d")))
        .await;
    let (_, p) = api.get(&format!("/v1/mandates/?debtor={}", id(&debtor))).await;
    assert!(
        p["results"]
            .as_array()
            .expect("r")
            .iter()
            .any(|m| m["id"] == first["id"])
    );
    let (_, p) = api
        .get(&format!(
            "/v1/mandates/?debtor_your_reference={}",
            debtor["your_reference"].as_str().expect("ref")
        ))
        .await;
    assert!(
        p["results"]
            .as_array()
            .expect("r")
            .iter()
            .any(|m| m["id"] == first["id"])
    );
    let name_filter = match (&debtor["organization"], &debtor["person"]) {
        (Value::Object(o), _) => format!("debtor_organization_name={}", o["name"].as_str().expect("n")),
        (_, p) => format!("debtor_person_last_name={}", p["last_name"].as_str().expect("n")),
    };
    let (_, p) = api
        .send(
            api.c
                .get(api.url("/v1/mandates/"))
                .query(&[name_filter.split_once('=').expect("pair")])
                .bearer_auth(api.m.token()),
        )
        .await;
    assert!(
        p["results"]
            .as_array()
            .expect("r")
            .iter()
            .any(|m| m["id"] == first["id"])
    );
    // Archive: only `archived` is writable; other keys are ignored.
    let path = format!("/v1/mandates/{}/", id(first));
    let want = !first["archived"].as_bool().expect("bool");
    let (s, m) = api
        .patch(&path, json!({"archived": want, "legal_stage": "ended"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(m["archived"], want);
    assert_eq!(m["legal_stage"], first["legal_stage"]);
    let (_, p) = api.get(&format!("/v1/mandates/?archived={want}&limit=1000")).await;
    assert!(
        p["results"]
            .as_array()
            .expect("r")
            .iter()
            .any(|x| x["id"] == first["id"])
    );
    let (s, e) = api.patch(&path, json!({"archived": "maybe"})).await;
    assert_eq!((s, e), (400, json!({"archived": ["Must be a valid boolean."]})));
    assert_eq!(api.get("/v1/mandates/not-a-uuid/").await.0, 404);
    // Isolation.
    assert_eq!(api.get_as(&path, api.m.production_token()).await.0, 404);
    let (_, p) = api.get_as("/v1/mandates/?limit=1000", api.m.production_token()).await;
    assert!(
        p["results"]
            .as_array()
            .expect("r")
            .iter()
            .all(|m| all.iter().all(|t| t["id"] != m["id"]))
    );
    assert_eq!(
        api.get_as(&format!("{path}statusupdates/"), api.m.production_token())
            .await
            .0,
        404
    );
    assert_eq!(
        api.get_as(&format!("{path}requests-to-client/"), api.m.production_token())
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn status_updates_list_download_and_back_office_moves() {
    let api = Api::start(15).await;
    let mut events = api.m.state().events.subscribe();
    let m = api.new_mandate("su-1", "300.00").await;
    let mid = id(&m);
    let (s, list) = api.get(&format!("/v1/mandates/{mid}/statusupdates/")).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "bare array: {list}");
    let base = format!("/_mock/paywise/mandates/{mid}/status-updates");
    let (s, su) = api
        .post(
            &base,
            json!({"title": "Mahnbescheid beantragt", "legal_stage": "judicial_dunning", "attach_document": true}),
        )
        .await;
    assert_eq!(s, 201, "{su}");
    assert_eq!(su["legal_stage"], "judicial_dunning");
    let url = su["downloads"][0]["download_url"].as_str().expect("download_url");
    let res = api.c.get(url).bearer_auth(api.m.token()).send().await.expect("sent");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let bytes = res.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF"));
    assert_eq!(
        bytes.len() as u64,
        su["downloads"][0]["file_size"].as_u64().expect("size")
    );
    let res = api
        .c
        .get(url)
        .bearer_auth(api.m.production_token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
    let bad = url.replace(su["id"].as_str().expect("id"), list[0]["id"].as_str().expect("id"));
    assert_eq!(
        api.c
            .get(bad)
            .bearer_auth(api.m.token())
            .send()
            .await
            .expect("sent")
            .status(),
        404
    );
    // Backwards is refused; pausing and resuming is fine; closing is final.
    let (s, e) = api
        .post(&base, json!({"title": "x", "legal_stage": "extrajudicial"}))
        .await;
    assert_eq!(s, 400);
    assert!(e["legal_stage"][0].is_string());
    let (s, e) = api.post(&base, json!({"legal_stage": "nope"})).await;
    assert_eq!(s, 400);
    assert_eq!(e["title"], json!(["This field is required."]));
    assert_eq!(e["legal_stage"], json!(["\"nope\" is not a valid choice."]));
    assert_eq!(
        api.post(&base, json!({"title": "Pause", "processing_state": "paused"}))
            .await
            .0,
        201
    );
    assert_eq!(
        api.post(&base, json!({"title": "Weiter", "processing_state": "in_progress"}))
            .await
            .0,
        201
    );
    assert_eq!(
        api.post(
            &base,
            json!({"title": "Storno", "processing_state": "canceled_by_client"})
        )
        .await
        .0,
        201
    );
    let (s, e) = api
        .post(&base, json!({"title": "Weiter", "processing_state": "in_progress"}))
        .await;
    assert_eq!(s, 400);
    assert!(e["processing_state"][0].is_string());
    let (_, mandate) = api.get(&format!("/v1/mandates/{mid}/")).await;
    assert_eq!(mandate["processing_state"], "canceled_by_client");
    assert_eq!(mandate["status_updates"].as_array().map(Vec::len), Some(5));
    let kinds: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.kind)
        .filter(|k| k.starts_with("mandate.status") || k == "mandate.closed")
        .collect();
    assert_eq!(kinds.len(), 5);
    assert_eq!(kinds.last().map(String::as_str), Some("mandate.closed"));
    assert_eq!(
        api.post("/_mock/paywise/mandates/nope/status-updates", json!({"title": "x"}))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn requests_to_client_answer_rules() {
    let api = Api::start(16).await;
    let mut events = api.m.state().events.subscribe();
    let m = api.new_mandate("rtc-1", "120.00").await;
    let mid = id(&m);
    let ask = |types: Value| {
        let api = &api;
        let mid = mid.clone();
        async move {
            let (s, r) = api
                .post(
                    &format!("/_mock/paywise/mandates/{mid}/requests-to-client"),
                    json!({"title": "Frage", "description": "Bitte antworten", "allowed_answer_types": types, "attach_document": true}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            r
        }
    };
    let answer = |r: &Value, body: Value| {
        let path = format!(
            "{}answer/",
            r["href"].as_str().expect("href").split_once("/v1").expect("v1").1
        );
        let api = &api;
        async move { api.post(&format!("/v1{path}"), body).await }
    };
    let (s, e) = api
        .post(
            &format!("/_mock/paywise/mandates/{mid}/requests-to-client"),
            json!({"title": "x", "allowed_answer_types": ["maybe"]}),
        )
        .await;
    assert_eq!(
        (s, e),
        (
            400,
            json!({"allowed_answer_types": ["\"maybe\" is not a valid choice."]})
        )
    );

    // yes-no
    let r = ask(json!(["yes-no"])).await;
    assert_eq!(r["answered"], false);
    assert_eq!(r["mandate"]["id"], m["id"]);
    let (s, e) = answer(&r, json!({"text": "maybe"})).await;
    assert_eq!((s, e), (400, json!({"text": ["\"maybe\" is not a valid choice."]})));
    let (s, e) = answer(&r, json!({})).await;
    assert_eq!((s, e), (400, json!({"text": ["This field is required."]})));
    let (s, a) = answer(&r, json!({"text": "yes", "additional_comment": "ok"})).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["answered"], true);
    assert_eq!(a["answer"]["text"], "yes");
    assert_eq!(a["answer"]["additional_comment"], "ok");
    assert!(a["answered_at"].is_string());
    let (s, e) = answer(&r, json!({"text": "no"})).await;
    assert_eq!(s, 400);
    assert!(e["non_field_errors"][0].is_string());
    // yes-no-dontknow
    let r = ask(json!(["yes-no-dontknow"])).await;
    assert_eq!(answer(&r, json!({"text": "later"})).await.0, 400);
    assert_eq!(answer(&r, json!({"text": "dontknow"})).await.0, 201);
    // yes-no-freetext-on-no
    let r = ask(json!(["yes-no-freetext-on-no"])).await;
    let (s, e) = answer(&r, json!({"text": "no"})).await;
    assert_eq!(s, 400);
    assert!(e["additional_comment"][0].is_string());
    assert_eq!(
        answer(&r, json!({"text": "no", "additional_comment": "Neue Adresse"}))
            .await
            .0,
        201
    );
    let r = ask(json!(["yes-no-freetext-on-no"])).await;
    assert_eq!(answer(&r, json!({"text": "yes"})).await.0, 201);
    // yes-with-date-no-freetext-on-no
    let r = ask(json!(["yes-with-date-no-freetext-on-no"])).await;
    let (s, e) = answer(&r, json!({"text": "yes"})).await;
    assert_eq!(s, 400);
    assert!(e["additional_comment"][0].is_string());
    assert_eq!(
        answer(&r, json!({"text": "yes", "additional_comment": "2026-02-30"}))
            .await
            .0,
        400
    );
    assert_eq!(answer(&r, json!({"text": "no"})).await.0, 400);
    let (s, a) = answer(&r, json!({"text": "yes", "additional_comment": "2026-10-01"})).await;
    assert_eq!(
        (s, a["answer"]["additional_comment"].clone()),
        (201, json!("2026-10-01"))
    );
    // dynamic-form
    let r = ask(json!(["dynamic-form"])).await;
    assert_eq!(answer(&r, json!({"text": "plain"})).await.0, 400);
    assert_eq!(answer(&r, json!({"text": "[1]"})).await.0, 400);
    let (s, a) = answer(&r, json!({"text": {"installments": 3}})).await;
    assert_eq!(s, 201);
    assert_eq!(a["answer"]["text"], "{\"installments\":3}");
    // fileupload: files first.
    let r = ask(json!(["fileupload"])).await;
    let (s, e) = answer(&r, json!({"text": "anbei"})).await;
    assert_eq!(s, 400);
    assert!(e["non_field_errors"][0].is_string());
    let up = format!(
        "{}answer/documents/",
        r["href"]
            .as_str()
            .expect("href")
            .split_once(&api.m.uri())
            .expect("uri")
            .1
    );
    let (s, e) = api.upload(&up, "a.gif", "image/gif", b"GIF8").await;
    assert_eq!(s, 400);
    assert!(e["file"][0].is_string());
    let (s, x) = api.upload(&up, "Vertrag.pdf", "application/pdf", b"%PDF-1.4").await;
    assert_eq!(s, 201, "{x}");
    assert_eq!(x["answered"], false);
    let (s, a) = answer(&r, json!({"text": "anbei"})).await;
    assert_eq!(s, 201);
    assert_eq!(a["answer"]["files"][0]["filename"], "Vertrag.pdf");
    assert_eq!(api.upload(&up, "late.pdf", "application/pdf", b"%PDF").await.0, 400);
    // Several types: any one suffices.
    let r = ask(json!(["yes-no", "fileupload"])).await;
    assert_eq!(answer(&r, json!({"text": "no"})).await.0, 201);

    // Attachment download and 404s.
    let att = r["file_attachments"][0]["download_url"].as_str().expect("download_url");
    let res = api.c.get(att).bearer_auth(api.m.token()).send().await.expect("sent");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let other = api.new_mandate("rtc-2", "10.00").await;
    let wrong = att.replace(&mid, &id(&other));
    assert_eq!(
        api.c
            .get(wrong)
            .bearer_auth(api.m.token())
            .send()
            .await
            .expect("sent")
            .status(),
        404
    );

    // List and filter.
    let list = format!("/v1/mandates/{mid}/requests-to-client/");
    let (_, p) = api.get(&list).await;
    assert_eq!(p["count"], 8);
    let (_, p) = api.get(&format!("{list}?answered=false")).await;
    assert_eq!(p["count"], 0);
    let (_, p) = api.get(&format!("{list}?answered=true&limit=2")).await;
    assert_eq!(p["count"], 8);
    assert!(p["next"].is_string());
    let (s, _) = api
        .get_as(&format!("{list}{}/", id(&r)), api.m.production_token())
        .await;
    assert_eq!(s, 404);
    let (s, _) = api
        .get(&format!("/v1/mandates/{}/requests-to-client/{}/", id(&other), id(&r)))
        .await;
    assert_eq!(s, 404);
    let (_, mj) = api.get(&format!("/v1/mandates/{mid}/")).await;
    assert_eq!(mj["requests_to_client_summary"]["total_count"], 8);
    assert_eq!(mj["requests_to_client_summary"]["has_pending"], false);
    let kinds: Vec<String> = std::iter::from_fn(|| events.try_recv().ok()).map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "request_to_client.answered").count(), 8);
    assert_eq!(kinds.iter().filter(|k| *k == "request_to_client.created").count(), 8);
}

#[tokio::test]
async fn fixture_requests_cover_every_type_answered_and_not() {
    let api = Api::start(42).await;
    let (_, page) = api.get("/v1/mandates/?limit=1000").await;
    let mut seen = std::collections::HashSet::new();
    for m in page["results"].as_array().expect("results") {
        let (_, p) = api
            .get(&format!("/v1/mandates/{}/requests-to-client/?limit=100", id(m)))
            .await;
        for r in p["results"].as_array().expect("r") {
            seen.insert((
                r["allowed_answer_types"][0].as_str().expect("t").to_string(),
                r["answered"] == true,
            ));
            if r["answered"] == false {
                assert_eq!(r["answer"], Value::Null);
            }
        }
        let (_, sus) = api.get(&format!("/v1/mandates/{}/statusupdates/", id(m))).await;
        assert!(!sus.as_array().expect("array").is_empty());
    }
    for t in [
        "yes-no",
        "yes-no-dontknow",
        "fileupload",
        "yes-no-freetext-on-no",
        "yes-with-date-no-freetext-on-no",
        "dynamic-form",
    ] {
        assert!(seen.contains(&(t.to_string(), true)), "{t} answered");
        assert!(seen.contains(&(t.to_string(), false)), "{t} unanswered");
    }
}

#[tokio::test]
async fn payments_validate_and_move_mandate_balances() {
    let api = Api::start(17).await;
    let mut events = api.m.state().events.subscribe();
    let m = api.new_mandate("pay-1", "100.00").await;
    let cid = m["claims"][0]["id"].clone();
    let (s, e) = api.post("/v1/payments/", json!({})).await;
    assert_eq!(
        (s, e),
        (
            400,
            json!({"claim": ["This field is required."], "amount": ["This field is required."], "value_date": ["This field is required."]})
        )
    );
    let (s, e) = api
        .post(
            "/v1/payments/",
            json!({"claim": "00000000-0000-4000-8000-000000000000", "amount": {"value": "0", "currency": "EUR"}, "value_date": "x"}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["claim"][0].as_str().expect("m").contains("does not exist"));
    assert!(e["amount"]["value"][0].is_string());
    assert!(e["value_date"][0].is_string());
    let pay = |v: &str| json!({"claim": cid, "amount": {"value": v, "currency": "EUR"}, "value_date": "2026-11-22", "your_reference": "ZE-1", "metadata": [{"type": "comment", "value": "bar"}]});
    let (s, p) = api.post("/v1/payments/", pay("3.00")).await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["claim"], cid);
    assert_eq!(p["amount"], json!({"value": "3.00", "currency": "EUR"}));
    assert!(
        p["href"]
            .as_str()
            .expect("href")
            .ends_with(&format!("/v1/payments/{}/", id(&p)))
    );
    let (s, got) = api.get(&format!("/v1/payments/{}/", id(&p))).await;
    assert_eq!((s, &got), (200, &p));
    let (_, mj) = api.get(&format!("/v1/mandates/{}/", id(&m))).await;
    check_balance(&mj);
    assert_eq!(mj["payment_state"], "partially_paid");
    assert_eq!(
        mj["legal_claim_balance"]["payment_on_costs_interest_free"]["value"],
        "3.00"
    );
    assert_eq!(mj["legal_claim_balance"]["payment_on_principal_claim"]["value"], "0.00");
    assert_eq!(api.post("/v1/payments/", pay("102.00")).await.0, 201);
    let (_, mj) = api.get(&format!("/v1/mandates/{}/", id(&m))).await;
    check_balance(&mj);
    assert_eq!(mj["payment_state"], "fully_paid");
    assert_eq!(mj["legal_claim_balance"]["total_balance"]["value"], "0.00");
    // Overpayment: booked on the principal, which goes negative.
    assert_eq!(api.post("/v1/payments/", pay("1.50")).await.0, 201);
    let (_, mj) = api.get(&format!("/v1/mandates/{}/", id(&m))).await;
    check_balance(&mj);
    assert_eq!(
        mj["legal_claim_balance"]["balance_of_principal_claim"]["value"],
        "-1.50"
    );
    assert_eq!(mj["claims"][0]["payments"].as_array().map(Vec::len), Some(3));
    let kinds: Vec<String> = std::iter::from_fn(|| events.try_recv().ok()).map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "mandate.balance_updated").count(), 3);
    assert_eq!(kinds.iter().filter(|k| *k == "payment.created").count(), 3);
    // The claim itself is unchanged by reported payments.
    let (_, claim) = api.get(&format!("/v1/claims/{}/", cid.as_str().expect("id"))).await;
    assert_eq!(claim["payments"], json!([]));
    // Listing, paging, isolation.
    let (_, page) = api.get("/v1/payments/?limit=1").await;
    assert!(page["count"].as_u64().expect("count") >= 3);
    assert!(page["next"].is_string());
    assert_eq!(
        api.get_as(&format!("/v1/payments/{}/", id(&p)), api.m.production_token())
            .await
            .0,
        404
    );
    let (s, e) = api
        .send(
            api.c
                .post(api.url("/v1/payments/"))
                .bearer_auth(api.m.production_token())
                .json(&pay("1.00")),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["claim"][0].as_str().expect("m").contains("does not exist"));
    // Inline payments are payment records.
    let (_, claims) = api.get("/v1/claims/?limit=1000").await;
    let with_payment = claims["results"]
        .as_array()
        .expect("r")
        .iter()
        .find(|c| !c["payments"].as_array().expect("p").is_empty())
        .expect("a fixture claim with a payment");
    let href = with_payment["payments"][0]["href"].as_str().expect("href");
    let res = api.c.get(href).bearer_auth(api.m.token()).send().await.expect("sent");
    assert_eq!(res.status(), 200);
}

proptest! {
    #[test]
    fn any_payment_sequence_keeps_the_balance_consistent(
        legal in proptest::array::uniform5(0i64..50_000),
        payments in proptest::collection::vec(1i64..40_000, 0..12),
    ) {
        let legal = legal.map(|c| Decimal::new(c, 2));
        let mut b = Balance::new(legal, mock_core::testing::epoch());
        let mut paid = Decimal::ZERO;
        for p in payments {
            let p = Decimal::new(p, 2);
            b.allocate(p);
            paid += p;
            prop_assert_eq!(b.total_paid(), paid);
            prop_assert_eq!(b.total_balance(), b.total_legal() - paid);
            let sum: Decimal = (0..5).map(|i| b.open(i)).sum();
            prop_assert_eq!(sum, b.total_balance());
            for i in 0..5 {
                prop_assert!(b.paid[i] >= Decimal::ZERO);
                if i != PRINCIPAL {
                    prop_assert!(b.open(i) >= Decimal::ZERO);
                }
                // § 367 BGB: nothing reaches a later component while an earlier one is open.
                if b.paid[i] > Decimal::ZERO {
                    for j in 0..i {
                        prop_assert_eq!(b.open(j), Decimal::ZERO);
                    }
                }
            }
            prop_assert_eq!(b.open(PRINCIPAL) < Decimal::ZERO, paid > b.total_legal());
            let state = b.payment_state();
            prop_assert_eq!(state == "fully_paid", paid >= b.total_legal() && paid > Decimal::ZERO);
        }
    }
}

#[tokio::test]
async fn payments_over_http_keep_every_rendered_balance_consistent() {
    let api = Api::start(18).await;
    let m = api.new_mandate("pay-seq", "37.11").await;
    let cid = m["claims"][0]["id"].clone();
    for v in ["0.01", "4.99", "0.02", "30.00", "7.09", "0.01", "12.34"] {
        let (s, _) = api
            .post(
                "/v1/payments/",
                json!({"claim": cid, "amount": {"value": v, "currency": "EUR"}, "value_date": "2026-11-22"}),
            )
            .await;
        assert_eq!(s, 201);
        let (_, mj) = api.get(&format!("/v1/mandates/{}/", id(&m))).await;
        check_balance(&mj);
    }
}
