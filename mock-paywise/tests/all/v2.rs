//! paywise API v2 (Case Management): conventions, debtors, orders and claims from draft to
//! mandate, titles, rental agreements, documents, messages, requests to client, payments,
//! events and webhooks, and what v1 sees of v2's changes. Every mock runs on a frozen clock.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use mock_paywise::MockPaywise;
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\ntrailer\n%%EOF";

struct Api {
    m: MockPaywise,
    c: reqwest::Client,
    keys: AtomicU64,
}

struct Res {
    status: u16,
    body: Value,
    etag: Option<String>,
    replayed: bool,
}

impl Api {
    async fn start() -> Self {
        Self {
            m: MockPaywise::test()
                .seed(42)
                .clock(mock_core::testing::frozen())
                .start()
                .await,
            c: reqwest::Client::new(),
            keys: AtomicU64::new(0),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.m.uri(), path)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Res {
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        let etag = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let replayed = res.headers().contains_key("idempotent-replayed");
        let text = res.text().await.expect("body");
        Res {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            etag,
            replayed,
        }
    }

    fn key(&self) -> String {
        format!("key-{}", self.keys.fetch_add(1, Ordering::SeqCst))
    }

    /// The Case feed's query after the events already in it (the fixtures' history: their
    /// settling by the time-driven rules raised events before the anchor date), so that a test
    /// reads exactly the events its own calls raise: `?since=<the last cursor>`, or nothing for an
    /// empty feed.
    async fn after_history(&self) -> String {
        let mut since: Option<String> = None;
        loop {
            let path = match &since {
                Some(c) => format!("/v2/events/?limit=100&since={c}"),
                None => "/v2/events/?limit=100".to_string(),
            };
            let page = self.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.body);
            if let Some(c) = page.body["cursor"].as_str() {
                since = Some(c.to_string());
            }
            if page.body["next"].is_null() {
                break;
            }
        }
        since.map_or_else(String::new, |c| format!("?since={c}"))
    }

    async fn get(&self, path: &str) -> Res {
        self.send(self.c.get(self.url(path)).bearer_auth(self.m.token())).await
    }

    async fn post(&self, path: &str, body: Value) -> Res {
        self.post_key(path, body, &self.key()).await
    }

    async fn post_key(&self, path: &str, body: Value, key: &str) -> Res {
        self.send(
            self.c
                .post(self.url(path))
                .bearer_auth(self.m.token())
                .header("Idempotency-Key", key)
                .json(&body),
        )
        .await
    }

    async fn patch(&self, path: &str, body: Value) -> Res {
        self.send(self.c.patch(self.url(path)).bearer_auth(self.m.token()).json(&body))
            .await
    }

    async fn delete(&self, path: &str) -> Res {
        self.send(self.c.delete(self.url(path)).bearer_auth(self.m.token()))
            .await
    }

    async fn control(&self, path: &str, body: Value) -> Res {
        self.send(
            self.c
                .post(self.url(&format!("/_mock/paywise/v2/{path}")))
                .bearer_auth(self.m.token())
                .json(&body),
        )
        .await
    }

    /// A consumer debtor with a complete address.
    async fn debtor(&self) -> String {
        let r = self
            .post(
                "/v2/debtors/",
                json!({
                    "acting_as": "consumer",
                    "person": {"first_name": "Erika", "last_name": "Mustermann", "salutation": "ms"},
                    "addresses": [{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}],
                    "your_reference": "D-1"
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// A complete invoice order with one claim, still a draft.
    async fn order(&self, debtor: &str) -> Value {
        let r = self
            .post(
                "/v2/orders/",
                json!({
                    "debtor_id": debtor,
                    "starting_approach": "extrajudicial",
                    "creditor_obligation_fulfilled": true,
                    "claims": [{
                        "type": "receivable",
                        "is_disputed": false,
                        "principal_amount": {"value": "119.00", "currency": "EUR"},
                        "document_date": "2020-01-10",
                        "due_date": "2020-01-24",
                        "subject_matter": "Software licence",
                        "document_reference": "INV-1",
                        "your_reference": "C-1",
                        "items": [{"description": "Licence", "quantity": "1.5", "unit_price": {"value": "79.33"}}],
                        "additional_charges": [{"type": "reminder_fee", "amount": {"value": "5.00"}, "occurrence_date": "2020-02-01"}]
                    }]
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }
}

#[tokio::test]
async fn health_info_usage_and_legal_forms() {
    let api = Api::start().await;
    let h = api.send(api.c.get(api.url("/v2/health/"))).await;
    assert_eq!(
        (h.status, h.body.clone()),
        (200, json!({"status": "ok", "version": "v2"}))
    );
    let info = api.get("/v2/info/").await;
    assert_eq!(info.status, 200);
    assert_eq!(info.body["environment"], "sandbox");
    assert!(
        info.body["company"]
            .as_str()
            .is_some_and(|c| uuid::Uuid::parse_str(c).is_ok())
    );
    assert!(
        info.body["scopes"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == "case:payments:read"))
    );
    let live = api
        .send(
            api.c
                .get(api.url("/v2/info/"))
                .bearer_auth(mock_paywise::DEFAULT_PRODUCTION_TOKEN),
        )
        .await;
    assert_eq!(live.body["environment"], "production");
    // A sandbox token addressed to the production host is refused.
    let wrong = api
        .send(
            api.c
                .get(api.url("/v2/info/"))
                .header("Host", "api.paywise.de")
                .bearer_auth(api.m.token()),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.body["code"].as_str()),
        (401, Some("authentication_failed"))
    );
    let usage = api.get("/v2/usage/").await;
    let token = &usage.body["limits"][0];
    assert_eq!(token["scope"], "token");
    // info and usage itself (health is not counted, the refused request neither).
    assert_eq!(token["used"], 2, "{}", usage.body);
    assert_eq!(usage.body["limits"][1]["scope"], "company");
    assert_eq!(
        token["remaining"].as_u64().unwrap_or(0) + token["used"].as_u64().unwrap_or(0),
        token["limit"].as_u64().unwrap_or(1)
    );
    let forms = api.get("/v2/legal-forms/").await;
    assert!(
        forms
            .body
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x["code"] == "gmbh"))
    );
    let again = api
        .send(
            api.c
                .get(api.url("/v2/legal-forms/"))
                .bearer_auth(api.m.token())
                .header("If-None-Match", forms.etag.clone().unwrap_or_default()),
        )
        .await;
    assert_eq!(again.status, 304);
}

#[tokio::test]
async fn errors_use_the_v2_envelope() {
    let api = Api::start().await;
    let unauth = api.send(api.c.get(api.url("/v2/orders/"))).await;
    assert_eq!(
        (unauth.status, unauth.body["code"].as_str()),
        (401, Some("not_authenticated"))
    );
    for path in [
        "/v2/orders/not-a-uuid/",
        "/v2/orders/%FF/",
        "/v2/debtors/%C3/",
        "/v2/messages/%FF/",
        "/v2/nothing-here/",
        "/v2/debtors/00000000-0000-0000-0000-000000000000/",
    ] {
        let r = api.get(path).await;
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("not_found")), "{path}");
        assert!(r.body["errors"].is_array());
    }
    let method = api
        .send(api.c.put(api.url("/v2/orders/")).bearer_auth(api.m.token()))
        .await;
    assert_eq!(
        (method.status, method.body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let bad = api
        .send(
            api.c
                .post(api.url("/v2/debtors/"))
                .bearer_auth(api.m.token())
                .header("Idempotency-Key", "k")
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_eq!((bad.status, bad.body["code"].as_str()), (400, Some("parse_error")));
    let no_key = api
        .send(
            api.c
                .post(api.url("/v2/debtors/"))
                .bearer_auth(api.m.token())
                .json(&json!({})),
        )
        .await;
    assert_eq!(
        (no_key.status, no_key.body["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    let invalid = api
        .post(
            "/v2/debtors/",
            json!({"acting_as": "consumer", "person": {"first_name": "A"}, "colour": 1}),
        )
        .await;
    assert_eq!(
        (invalid.status, invalid.body["code"].as_str()),
        (400, Some("validation_error"))
    );
    let fields = error_fields(&invalid.body);
    assert!(
        fields.contains(&"colour") && fields.contains(&"person.last_name"),
        "{fields:?}"
    );
    let limit = api.get("/v2/orders/?limit=500").await;
    assert_eq!(
        (limit.status, limit.body["errors"][0]["field"].as_str()),
        (400, Some("limit"))
    );
    let mixed = api.get("/v2/orders/?updated_since=2020-01-01T00:00:00Z&offset=5").await;
    assert_eq!(mixed.status, 400);
    let cursor = api.get("/v2/orders/?cursor=abc").await;
    assert_eq!(cursor.status, 400);
    // Partner keys must name a company; direct keys must not.
    let direct = api
        .send(
            api.c
                .get(api.url("/v2/orders/"))
                .bearer_auth(api.m.token())
                .header("X-On-Behalf-Of-Company", uuid::Uuid::nil().to_string()),
        )
        .await;
    assert_eq!(direct.status, 403);
    let partner = api
        .send(
            api.c
                .get(api.url("/v2/orders/"))
                .bearer_auth(mock_paywise::resources::partner::PARTNER_TOKEN),
        )
        .await;
    assert_eq!(partner.status, 403);
}

#[tokio::test]
async fn debtors_are_v1_debtors() {
    let api = Api::start().await;
    let id = api.debtor().await;
    let v1 = api.get(&format!("/v1/debtors/{id}/")).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body["addresses"][0]["zip"], "10115");
    let v2 = api.get(&format!("/v2/debtors/{id}/")).await;
    assert_eq!(v2.body["addresses"][0]["postal_code"], "10115");
    assert_eq!(v2.body["addresses"][0]["primary"], true);
    assert_eq!(v2.body["person"]["salutation"], "ms");
    // Fixture debtors (made by v1) are listed by v2 too.
    let list = api.get("/v2/debtors/?limit=100").await;
    assert!(list.body["count"].as_u64().is_some_and(|c| c > 1));
    assert!(list.body["results"][0].get("bank_accounts").is_none());
    // PATCH: merge the person, replace the addresses, keep a row by id, If-Match.
    let addr = v2.body["addresses"][0]["id"].as_str().expect("id").to_string();
    let stale = api
        .send(
            api.c
                .patch(api.url(&format!("/v2/debtors/{id}/")))
                .bearer_auth(api.m.token())
                .header("If-Match", "\"stale\"")
                .json(&json!({"your_reference": "X"})),
        )
        .await;
    assert_eq!(
        (stale.status, stale.body["code"].as_str()),
        (412, Some("precondition_failed"))
    );
    let p = api
        .send(
            api.c
                .patch(api.url(&format!("/v2/debtors/{id}/")))
                .bearer_auth(api.m.token())
                .header("If-Match", v2.etag.clone().unwrap_or_default())
                .json(&json!({
                    "person": {"first_name": "Eri"},
                    "addresses": [
                        {"id": addr, "street": "Hauptstr. 2", "postal_code": "10115", "city": "Berlin", "country": "DE", "primary": true},
                        {"street": "Nebenweg 3", "postal_code": "20095", "city": "Hamburg", "country": "DE"}
                    ],
                    "communication_channels": [{"type": "phone", "value": "030 123456"}]
                })),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["person"]["last_name"], "Mustermann");
    assert_eq!(p.body["addresses"][0]["id"], addr.as_str());
    assert_eq!(p.body["communication_channels"][0]["value"], "+4930123456");
    // A consumer cannot have an organization; nothing changes when refused.
    let bad = api
        .patch(&format!("/v2/debtors/{id}/"), json!({"organization": {"name": "ACME"}}))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(api.get(&format!("/v2/debtors/{id}/")).await.body, p.body);
    // Businesses: exactly one of person and organization; register numbers normalized.
    let b = api
        .post(
            "/v2/debtors/",
            json!({"acting_as": "business", "legal_form": "gmbh",
                   "organization": {"name": "ACME GmbH", "commercial_registration_number": "hrb12345"}}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(b.body["organization"]["commercial_registration_number"], "HRB 12345");
    let both = api
        .post(
            "/v2/debtors/",
            json!({"acting_as": "business", "legal_form": "gmbh", "person": {"first_name": "A", "last_name": "B"}}),
        )
        .await;
    assert_eq!(both.status, 400);
}

#[tokio::test]
async fn an_order_goes_from_draft_to_mandate() {
    let api = Api::start().await;
    let history = api.after_history().await;
    let debtor = api.debtor().await;
    let order = api.order(&debtor).await;
    let id = order["id"].as_str().expect("id").to_string();
    assert_eq!(order["status"], "draft");
    assert!(order["expires_at"].is_string());
    let claim = order["claims"][0].clone();
    let claim_id = claim["id"].as_str().expect("claim").to_string();
    assert_eq!(claim["items"][0]["quantity"], "1.5");
    assert_eq!(claim["items"][0]["amount"]["value"], "119.00");
    assert_eq!(claim["total_amount"]["value"], "124.00");
    assert_eq!(claim["delay_date"], "2020-01-25");
    assert_eq!(order["totals"]["order_value"]["value"], "124.00");
    // v1 sees the claim, created.
    let v1 = api.get(&format!("/v1/claims/{claim_id}/")).await;
    assert_eq!(
        (v1.status, v1.body["submission_state"].as_str()),
        (200, Some("created"))
    );
    // A draft payment is a fact of the claim, deletable.
    let pay = api
        .post(
            &format!("/v2/claims/{claim_id}/payments/"),
            json!({"amount": {"value": "24.00"}, "value_date": "2020-02-02"}),
        )
        .await;
    assert_eq!(pay.status, 201, "{}", pay.body);
    assert_eq!(
        api.get(&format!("/v2/claims/{claim_id}/")).await.body["total_amount"]["value"],
        "100.00"
    );
    let del = api
        .delete(&format!(
            "/v2/claims/{claim_id}/payments/{}/",
            pay.body["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(del.status, 204);
    // Finalize refuses an incomplete order, then submits the complete one.
    let incomplete = api.post("/v2/orders/", json!({"debtor_id": debtor})).await;
    let gaps = api
        .post(
            &format!("/v2/orders/{}/finalize/", incomplete.body["id"].as_str().unwrap_or("")),
            json!({}),
        )
        .await;
    assert_eq!(
        (gaps.status, gaps.body["code"].as_str()),
        (422, Some("order_incomplete"))
    );
    let fields = error_fields(&gaps.body);
    assert!(
        fields.contains(&"starting_approach") && fields.contains(&"claims"),
        "{fields:?}"
    );
    let key = api.key();
    let fin = api
        .post_key(&format!("/v2/orders/{id}/finalize/"), json!({}), &key)
        .await;
    assert_eq!(fin.status, 200, "{}", fin.body);
    assert_eq!(fin.body["status"], "submitted");
    assert!(fin.body["expires_at"].is_null());
    let replay = api
        .post_key(&format!("/v2/orders/{id}/finalize/"), json!({}), &key)
        .await;
    assert!(replay.replayed);
    assert_eq!(replay.body, fin.body);
    let other = api
        .post_key(&format!("/v2/orders/{id}/finalize/"), json!({"x": 1}), &key)
        .await;
    assert_eq!(
        (other.status, other.body["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    // The frozen aggregate refuses edits.
    let edit = api
        .patch(&format!("/v2/claims/{claim_id}/"), json!({"subject_matter": "x"}))
        .await;
    assert_eq!(
        (edit.status, edit.body["code"].as_str()),
        (409, Some("claim_not_editable"))
    );
    assert_eq!(
        api.get(&format!("/v1/claims/{claim_id}/")).await.body["submission_state"],
        "released"
    );
    // paywise asks; the client answers; paywise accepts.
    let q = api
        .control(
            &format!("orders/{id}/requests-to-client"),
            json!({"title": "Vertrag?", "description": "Bitte bestätigen", "allowed_answer_types": "yes-no"}),
        )
        .await;
    assert_eq!(q.status, 201, "{}", q.body);
    assert_eq!(
        api.get(&format!("/v2/orders/{id}/")).await.body["status"],
        "awaiting_client_response"
    );
    let rid = q.body["id"].as_str().expect("rtc").to_string();
    let wrong = api
        .post(
            &format!("/v2/orders/{id}/requests-to-client/{rid}/answer/"),
            json!({"text": "maybe"}),
        )
        .await;
    assert_eq!(wrong.status, 400);
    let ans = api
        .post(
            &format!("/v2/orders/{id}/requests-to-client/{rid}/answer/"),
            json!({"text": "yes"}),
        )
        .await;
    assert_eq!(
        (ans.status, ans.body["answered"].as_bool()),
        (200, Some(true)),
        "{}",
        ans.body
    );
    let twice = api
        .post(
            &format!("/v2/orders/{id}/requests-to-client/{rid}/answer/"),
            json!({"text": "no"}),
        )
        .await;
    assert_eq!(
        (twice.status, twice.body["code"].as_str()),
        (409, Some("already_answered"))
    );
    assert_eq!(api.get(&format!("/v2/orders/{id}/")).await.body["status"], "submitted");
    let acc = api.control(&format!("orders/{id}/accept"), json!({})).await;
    assert_eq!(acc.status, 200, "{}", acc.body);
    let mandate = acc.body["mandate"].as_str().expect("mandate").to_string();
    let m = api.get(&format!("/v2/mandates/{mandate}/")).await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["claims"][0]["id"], claim_id.as_str());
    assert_eq!(m.body["claims"][0]["status"], "accepted");
    assert_eq!(m.body["state"]["legal_stage"]["code"], "extrajudicial");
    assert_eq!(m.body["debtor"]["person"]["last_name"], "Mustermann");
    assert!(m.body["debtor"].get("id").is_none());
    // v1 sees the mandate too.
    let v1m = api.get(&format!("/v1/mandates/{mandate}/")).await;
    assert_eq!(v1m.status, 200);
    // A report on the accepted claim is booked; the event feed shows every step a minute later.
    let rep = api
        .post(
            &format!("/v2/mandates/{mandate}/payments/"),
            json!({"amount": {"value": "10.00"}, "value_date": "2020-03-01"}),
        )
        .await;
    assert_eq!(rep.status, 201, "{}", rep.body);
    assert_eq!(rep.body["mandate"]["id"], mandate.as_str());
    let listed = api.get(&format!("/v2/payments/?mandate={mandate}")).await;
    assert_eq!(listed.body["count"], 1);
    assert_eq!(
        api.get(&format!("/v2/events/{history}")).await.body["results"],
        json!([])
    );
    api.m.clock().advance(chrono::Duration::seconds(61));
    let feed = api.get(&format!("/v2/events/{history}")).await;
    let types: Vec<&str> = feed.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "order.submitted",
            "request_to_client.created",
            "request_to_client.answered",
            "order.accepted",
            "mandate.created",
            "payment.reported",
            "mandate.balance_updated"
        ]
    );
    assert_eq!(feed.body["results"][3]["data"]["mandate_id"], mandate.as_str());
    let cursor = feed.body["cursor"].as_str().expect("cursor").to_string();
    let empty = api.get(&format!("/v2/events/?since={cursor}")).await;
    assert_eq!(
        (empty.body["results"].clone(), empty.body["cursor"].as_str()),
        (json!([]), Some(cursor.as_str()))
    );
    // Withdraw is refused now.
    let w = api.post(&format!("/v2/orders/{id}/withdraw/"), json!({})).await;
    assert_eq!(
        (w.status, w.body["code"].as_str()),
        (409, Some("order_not_withdrawable"))
    );
}

#[tokio::test]
async fn drafts_withdrawal_deletion_and_expiry() {
    let api = Api::start().await;
    let debtor = api.debtor().await;
    let order = api.order(&debtor).await;
    let id = order["id"].as_str().expect("id").to_string();
    // PATCH order: co-debtors must exist and differ from the primary.
    let bad = api
        .patch(&format!("/v2/orders/{id}/"), json!({"additional_debtor_ids": [debtor]}))
        .await;
    assert_eq!(bad.status, 400);
    let fin = api.post(&format!("/v2/orders/{id}/finalize/"), json!({})).await;
    assert_eq!(fin.status, 200);
    let w = api
        .post(&format!("/v2/orders/{id}/withdraw/"), json!({"reason": "paid"}))
        .await;
    assert_eq!(
        (w.status, w.body["status"].as_str()),
        (200, Some("withdrawn")),
        "{}",
        w.body
    );
    assert_eq!(w.body["claims"][0]["status"], "withdrawn");
    let del = api.delete(&format!("/v2/orders/{id}/")).await;
    assert_eq!(
        (del.status, del.body["code"].as_str()),
        (409, Some("order_not_deletable"))
    );
    // A second draft is deleted with its claims.
    let second = api.order(&debtor).await;
    let sid = second["id"].as_str().expect("id").to_string();
    let cid = second["claims"][0]["id"].as_str().expect("claim").to_string();
    assert_eq!(api.delete(&format!("/v2/orders/{sid}/")).await.status, 204);
    assert_eq!(api.get(&format!("/v2/claims/{cid}/")).await.status, 404);
    assert_eq!(api.get(&format!("/v1/claims/{cid}/")).await.status, 404);
    // A draft untouched for 90 days expires and becomes read-only.
    let third = api.order(&debtor).await;
    let tid = third["id"].as_str().expect("id").to_string();
    api.m.clock().advance(chrono::Duration::days(91));
    let expired = api.get(&format!("/v2/orders/{tid}/")).await;
    assert_eq!(expired.body["status"], "expired");
    let edit = api
        .patch(&format!("/v2/orders/{tid}/"), json!({"confirmation_email": "a@b.de"}))
        .await;
    assert_eq!((edit.status, edit.body["code"].as_str()), (409, Some("order_expired")));
    // (The fixture rental draft expired too; only this invoice draft is of its type.)
    let filtered = api.get("/v2/orders/?status=expired&type=invoice").await;
    assert_eq!(filtered.body["count"], 1);
    assert_eq!(filtered.body["results"][0]["id"], tid.as_str());
}

#[tokio::test]
async fn v1_claims_have_orders_in_v2() {
    let api = Api::start().await;
    let claims = api.get("/v1/claims/?limit=1").await;
    let claim = claims.body["results"][0]["id"]
        .as_str()
        .expect("a fixture claim")
        .to_string();
    let v2 = api.get(&format!("/v2/claims/{claim}/")).await;
    assert_eq!(v2.status, 200);
    assert_eq!(v2.body["type"], "receivable");
    let order = v2.body["order_id"].as_str().expect("order").to_string();
    let o = api.get(&format!("/v2/orders/{order}/")).await;
    assert_eq!(o.status, 200, "{}", o.body);
    assert_eq!(o.body["claims"][0]["id"], claim.as_str());
    assert_eq!(o.body["type"], "invoice");
    let listed = api.get(&format!("/v2/claims/?order_id={order}")).await;
    assert_eq!(listed.body["count"], 1);
    let all = api.get("/v2/orders/?limit=100").await;
    assert!(all.body["count"].as_u64().is_some_and(|c| c >= 1));
    let mandates = api.get("/v2/mandates/").await;
    assert!(
        mandates.body["count"].as_u64().is_some_and(|c| c >= 1),
        "{}",
        mandates.body
    );
    let mid = mandates.body["results"][0]["id"].as_str().expect("mandate").to_string();
    let history = api.get(&format!("/v2/mandates/{mid}/history/")).await;
    assert_eq!(history.status, 200);
    assert!(history.body["results"].is_array());
}

#[tokio::test]
async fn titled_and_rental_orders() {
    let api = Api::start().await;
    let debtor = api.debtor().await;
    let pdf = base64::engine::general_purpose::STANDARD.encode(PDF);
    let t = api
        .post(
            "/v2/orders/",
            json!({"type": "titled", "debtor_id": debtor, "success_fee_confirmed": true, "claims": [{
                "type": "titled", "is_disputed": false,
                "enforceable_title": {"title_type": "enforcement_order", "amount": {"value": "500.00"}, "file_number": "23-1234567-0-1",
                    "issuing_authority": "AG Wedding", "issued_on": "2019-05-01",
                    "documents": [{"type": "enforceable_title", "base64": pdf, "filename": "../../vb.PDF"}]}
            }]}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let claim = t.body["claims"][0]["id"].as_str().expect("claim").to_string();
    let title = api.get(&format!("/v2/claims/{claim}/enforceable-title/")).await;
    assert_eq!(title.body["documents"][0]["filename"], "vb.pdf");
    assert_eq!(title.body["documents"][0]["status"], "ready");
    assert_eq!(t.body["claims"][0]["total_amount"]["value"], "500.00");
    assert!(t.body["claims"][0]["principal_amount"].is_null());
    // Deleting the title with documents is a conflict naming them.
    let d = api.delete(&format!("/v2/claims/{claim}/enforceable-title/")).await;
    assert_eq!(
        (d.status, d.body["document_ids"].as_array().map(Vec::len)),
        (409, Some(1))
    );
    let patched = api
        .patch(
            &format!("/v2/claims/{claim}/enforceable-title/"),
            json!({"served_on": "2019-04-01"}),
        )
        .await;
    assert_eq!(patched.status, 400, "served_on before issued_on");
    let fin = api
        .post(
            &format!("/v2/orders/{}/finalize/", t.body["id"].as_str().unwrap_or("")),
            json!({}),
        )
        .await;
    assert_eq!(fin.status, 200, "{}", fin.body);
    // Rental: the agreement needs its data before finalizing.
    let r = api
        .post(
            "/v2/orders/",
            json!({"type": "rental", "debtor_id": debtor, "starting_approach": "judicial", "creditor_obligation_fulfilled": true,
                   "rental_agreement": {"contract_date": "2018-01-01"},
                   "claims": [{"type": "receivable", "is_disputed": false, "principal_amount": {"value": "900.00"},
                               "document_date": "2020-01-01", "subject_matter": "Miete Januar",
                               "legal_basis": {"claim_type_code": "H19"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rid = r.body["id"].as_str().expect("id").to_string();
    let gaps = api.post(&format!("/v2/orders/{rid}/finalize/"), json!({})).await;
    assert_eq!(gaps.status, 422);
    let a = api
        .patch(
            &format!("/v2/orders/{rid}/rental-agreement/"),
            json!({"monthly_rent": {"value": "900.00"}, "property_address": {"street": "A 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
                   "due_rule": {"day": 3, "kind": "business_day"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let fin = api.post(&format!("/v2/orders/{rid}/finalize/"), json!({})).await;
    assert_eq!(fin.status, 200, "{}", fin.body);
    // H19 outside a rental order is refused; a rental agreement of an invoice order is 404.
    let inv = api.order(&debtor).await;
    let iid = inv["id"].as_str().expect("id");
    let h19 = api
        .post(
            "/v2/claims/",
            json!({"order_id": iid, "type": "receivable", "is_disputed": false,
               "principal_amount": {"value": "1.00"}, "legal_basis": {"claim_type_code": "H19"}}),
        )
        .await;
    assert_eq!(h19.status, 400);
    assert_eq!(
        api.get(&format!("/v2/orders/{iid}/rental-agreement/")).await.status,
        404
    );
}

#[tokio::test]
async fn documents_messages_and_webhooks() {
    let api = Api::start().await;
    let debtor = api.debtor().await;
    let order = api.order(&debtor).await;
    let id = order["id"].as_str().expect("id").to_string();
    let claim = order["claims"][0]["id"].as_str().expect("claim").to_string();
    // Multipart upload, as the SDK sends it.
    let mut form = b"--B0UND\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\ninvoice\r\n--B0UND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rechnung.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
    form.extend_from_slice(PDF);
    form.extend_from_slice(b"\r\n--B0UND--\r\n");
    let up = api
        .send(
            api.c
                .post(api.url(&format!("/v2/claims/{claim}/documents/")))
                .bearer_auth(api.m.token())
                .header("Idempotency-Key", "upload-1")
                .header("content-type", "multipart/form-data; boundary=B0UND")
                .body(form),
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let doc = up.body["id"].as_str().expect("doc").to_string();
    let url = up.body["download_url"].as_str().expect("url").to_string();
    assert!(url.starts_with(&api.m.uri()));
    let bytes = api
        .c
        .get(&url)
        .bearer_auth(api.m.token())
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&bytes[..], PDF);
    let wrong = api
        .post(
            &format!("/v2/claims/{claim}/documents/"),
            json!({"type": "invoice", "base64": "aGVsbG8="}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.body["errors"][0]["code"].as_str()),
        (400, Some("unsupported_media_type"))
    );
    // More parts than an upload has any use for: refused, nothing kept.
    let mut many: Vec<u8> = (0..1000)
        .flat_map(|i| format!("--B0UND\r\nContent-Disposition: form-data; name=\"x{i}\"\r\n\r\n\r\n").into_bytes())
        .collect();
    many.extend_from_slice(b"--B0UND\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\ninvoice\r\n--B0UND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.pdf\"\r\nContent-Type: application/pdf\r\n\r\n");
    many.extend_from_slice(PDF);
    many.extend_from_slice(b"\r\n--B0UND--\r\n");
    let refused = api
        .send(
            api.c
                .post(api.url(&format!("/v2/claims/{claim}/documents/")))
                .bearer_auth(api.m.token())
                .header("Idempotency-Key", "upload-many")
                .header("content-type", "multipart/form-data; boundary=B0UND")
                .body(many),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = refused.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("more than 1000 parts"), "{}", refused.body);
    let listed = api.get(&format!("/v2/claims/{claim}/documents/")).await;
    assert_eq!(listed.body["count"], 1);
    assert_eq!(
        api.delete(&format!("/v2/claims/{claim}/documents/{doc}/")).await.status,
        204
    );
    // Messages: editable until reviewed.
    let msg = api
        .post(
            &format!("/v2/orders/{id}/messages/"),
            json!({"title": "Hinweis", "body": "<p>Bitte <script>x</script>prüfen</p>"}),
        )
        .await;
    assert_eq!(msg.status, 201, "{}", msg.body);
    assert_eq!(msg.body["body"], "<p>Bitte xprüfen</p>");
    assert_eq!(msg.body["editable"], true);
    let mid = msg.body["id"].as_str().expect("msg").to_string();
    let p = api
        .patch(&format!("/v2/orders/{id}/messages/{mid}/"), json!({"title": "Neu"}))
        .await;
    assert_eq!(p.status, 200);
    let reviewed = api
        .control(&format!("messages/{mid}/review"), json!({"state": "handled"}))
        .await;
    assert_eq!(reviewed.body["editable"], false);
    let p = api
        .patch(&format!("/v2/orders/{id}/messages/{mid}/"), json!({"title": "Neuer"}))
        .await;
    assert_eq!((p.status, p.body["code"].as_str()), (409, Some("message_not_editable")));
    // Webhooks: create (secret once), limits, test delivery to a receiver that answers 200.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = receiver.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = receiver.accept().await else { break };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 65536];
                let _read = s.read(&mut buf).await;
                let _written = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    let w = api
        .post(
            "/v2/webhooks/",
            json!({"url": format!("http://{addr}/hook"), "events": ["order.submitted"]}),
        )
        .await;
    assert_eq!(w.status, 201, "{}", w.body);
    assert!(w.body["secret_key"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    assert_eq!(w.body["contract_version"], "v2");
    let wid = w.body["id"].as_str().expect("webhook").to_string();
    assert!(
        api.get(&format!("/v2/webhooks/{wid}/"))
            .await
            .body
            .get("secret_key")
            .is_none()
    );
    let dup = api
        .post("/v2/webhooks/", json!({"url": format!("http://{addr}/hook")}))
        .await;
    assert_eq!(dup.status, 400);
    let test = api
        .post(
            &format!("/v2/webhooks/{wid}/test/"),
            json!({"event": "mandate.created"}),
        )
        .await;
    assert_eq!(test.status, 400, "not subscribed");
    let fin = api.post(&format!("/v2/orders/{id}/finalize/"), json!({})).await;
    assert_eq!(fin.status, 200);
    // The dispatcher delivers within its ticks; poll the delivery log.
    let mut delivered = Value::Null;
    for _ in 0..200 {
        let d = api.get(&format!("/v2/webhook-deliveries/?webhook={wid}")).await;
        if d.body["results"][0]["status"] == "success" {
            delivered = d.body["results"][0].clone();
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(delivered["event_type"], "order.submitted", "{delivered}");
    assert_eq!(delivered["payload"]["data"]["order_id"], id.as_str());
    assert_eq!(delivered["response_status_code"], 200);
    let did = delivered["id"].as_str().expect("delivery").to_string();
    let again = api
        .post(&format!("/v2/webhook-deliveries/{did}/redeliver/"), json!({}))
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["event_id"], delivered["event_id"]);
    let off = api
        .patch(&format!("/v2/webhooks/{wid}/"), json!({"enabled": false}))
        .await;
    assert_eq!(off.body["enabled"], false);
    let refused = api
        .post(&format!("/v2/webhook-deliveries/{did}/redeliver/"), json!({}))
        .await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (409, Some("conflict")));
    let rotated = api.post(&format!("/v2/webhooks/{wid}/rotate-secret/"), json!({})).await;
    assert_ne!(rotated.body["secret_key"], w.body["secret_key"]);
    assert_eq!(api.delete(&format!("/v2/webhooks/{wid}/")).await.status, 204);
}

#[test]
fn standard_webhooks_signature() {
    // The Standard Webhooks test vector.
    let sig = mock_paywise::v2::webhooks::signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[tokio::test]
async fn v2_fixtures_are_deterministic_and_v1_sees_their_claims() {
    let api = Api::start().await;
    let other = Api::start().await;
    let orders = api.get("/v2/orders/?type=titled&type=rental&limit=100").await;
    let same = other.get("/v2/orders/?type=titled&type=rental&limit=100").await.body;
    assert_eq!(
        orders.body.to_string().replace(&api.m.uri(), "ORIGIN"),
        same.to_string().replace(&other.m.uri(), "ORIGIN")
    );
    let kinds: Vec<(&str, &str)> = orders.body["results"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| (o["type"].as_str().unwrap_or(""), o["status"].as_str().unwrap_or("")))
        .collect();
    assert!(
        kinds.contains(&("titled", "submitted")) && kinds.contains(&("rental", "draft")),
        "{kinds:?}"
    );
    let rental = orders.body["results"]
        .as_array()
        .and_then(|r| r.iter().find(|o| o["type"] == "rental"))
        .expect("a rental order")
        .clone();
    assert_eq!(rental["claims"].as_array().map(Vec::len), Some(2));
    assert_eq!(rental["claims"][0]["legal_basis"]["claim_type_code"], "H19");
    assert_eq!(
        rental["claims"][0]["legal_basis"]["contract_date"],
        rental["rental_agreement"]["contract_date"]
    );
    let claim = rental["claims"][0]["id"].as_str().expect("claim");
    assert_eq!(
        api.get(&format!("/v1/claims/{claim}/")).await.body["submission_state"],
        "created"
    );
    // v1's claims awaiting the client are such orders too; the v2 fixture is the one with a
    // request of its own.
    let waiting = api.get("/v2/orders/?status=awaiting_client_response&limit=100").await;
    let mut found = None;
    for o in waiting.body["results"].as_array().expect("orders") {
        let id = o["id"].as_str().expect("id");
        let rtcs = api
            .get(&format!("/v2/orders/{id}/requests-to-client/?answered=false"))
            .await;
        if rtcs.body["count"] == 1 {
            found = Some((id.to_string(), rtcs.body));
        }
    }
    let (order, rtcs) = found.expect("the v2 fixture order awaiting an answer");
    assert_eq!(rtcs["results"][0]["allowed_answer_types"], "fileupload");
    let msgs = api.get(&format!("/v2/orders/{order}/messages/")).await;
    assert_eq!(msgs.body["results"][0]["editable"], true);
}

#[tokio::test]
async fn v1_changes_reach_the_v2_feed() {
    let api = Api::start().await;
    let history = api.after_history().await;
    let debtor = api.debtor().await;
    let claim = api
        .send(
            api.c
                .post(api.url("/v1/claims/"))
                .bearer_auth(api.m.token())
                .json(&json!({
                    "debtor": debtor, "your_reference": "v1-bridge", "subject_matter": "Gartenmöbel",
                    "occurence_date": null, "document_reference": "RE-1", "document_date": "2020-09-01",
                    "due_date": "2020-09-15", "reminder_date": null, "delay_date": null,
                    "main_claim_amount": {"value": "120.00", "currency": "EUR"}, "additional_charges": [],
                    "total_claim_amount": {"value": "120.00", "currency": "EUR"},
                    "starting_approach": "extrajudicial", "claim_disputed": false, "obligation_fulfilled": true
                })),
        )
        .await;
    assert_eq!(claim.status, 201, "{}", claim.body);
    let id = claim.body["id"].as_str().expect("id").to_string();
    let released = api
        .patch(&format!("/v1/claims/{id}/"), json!({"submission_state": "released"}))
        .await;
    assert_eq!(released.status, 200, "{}", released.body);
    for to in ["under_review", "accepted"] {
        let r = api
            .send(
                api.c
                    .post(api.url(&format!("/_mock/paywise/claims/{id}/advance")))
                    .bearer_auth(api.m.token())
                    .json(&json!({"to": to})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    api.m.clock().advance(chrono::Duration::seconds(61));
    let feed = api.get(&format!("/v2/events/{history}")).await;
    let types: Vec<&str> = feed.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types, ["order.submitted", "order.accepted", "mandate.created"]);
    let order = feed.body["results"][0]["data"]["order_id"].as_str().expect("order");
    let o = api.get(&format!("/v2/orders/{order}/")).await;
    assert_eq!(
        (o.body["status"].as_str(), o.body["claims"][0]["id"].as_str()),
        (Some("accepted"), Some(id.as_str()))
    );
    assert_eq!(
        feed.body["results"][1]["data"]["mandate_id"],
        feed.body["results"][2]["data"]["mandate_id"]
    );
}

#[tokio::test]
async fn v2_limits_money_and_body_size_answer_validation_errors_and_change_nothing() {
    let api = Api::start().await;
    let debtor = api.debtor().await;
    let order = api.order(&debtor).await;
    let claim = order["claims"][0]["id"].as_str().expect("claim").to_string();
    let before = api.get(&format!("/v2/claims/{claim}/")).await.body;
    let code_of = |r: &Res| {
        (
            r.status,
            r.body["code"].as_str().map(str::to_string),
            r.body["errors"][0]["code"].as_str().map(str::to_string),
            r.body["errors"][0]["field"].as_str().map(str::to_string),
        )
    };
    // A list beyond its documented cap: 51 charges.
    let charges = vec![json!({"type": "reminder_fee", "amount": {"value": "1.00"}}); 51];
    let r = api
        .patch(&format!("/v2/claims/{claim}/"), json!({"additional_charges": charges}))
        .await;
    assert_eq!(
        code_of(&r),
        (
            400,
            Some("validation_error".into()),
            Some("max_items".into()),
            Some("additional_charges".into())
        ),
        "{}",
        r.body
    );
    // Money beyond 14 digits before the point, and a quantity as large.
    let r = api
        .post(
            &format!("/v2/claims/{claim}/payments/"),
            json!({"amount": {"value": "100000000000000.00"}, "value_date": "2020-02-02"}),
        )
        .await;
    assert_eq!(
        code_of(&r),
        (
            400,
            Some("validation_error".into()),
            Some("max_whole_digits".into()),
            Some("amount.value".into())
        ),
        "{}",
        r.body
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("99999999999999.99"),
        "{}",
        r.body
    );
    let r = api
        .patch(
            &format!("/v2/claims/{claim}/"),
            json!({"items": [{"description": "x", "quantity": "99999999999999999999999", "unit_price": {"value": "99999999999999.99"}}]}),
        )
        .await;
    assert_eq!(r.status, 400, "refused, not overflowed: {}", r.body);
    assert_eq!(r.body["errors"][0]["code"], "max_whole_digits", "{}", r.body);
    // A body beyond the value cap.
    let limits = mock_core::body::JSON_LIMITS;
    let body = format!("{{\"items\":[{}0]}}", "0,".repeat(limits.max_values));
    let res = api
        .c
        .patch(api.url(&format!("/v2/claims/{claim}/")))
        .bearer_auth(api.m.token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status().as_u16(), 400);
    let b: Value = res.json().await.expect("json");
    assert_eq!(
        (b["code"].as_str(), b["errors"][0]["code"].as_str()),
        (Some("validation_error"), Some("too_complex")),
        "{b}"
    );
    assert_eq!(
        api.get(&format!("/v2/claims/{claim}/")).await.body,
        before,
        "nothing changed"
    );
}

/// A debtor's bank account and a Partner company's payout account keep one BIC rule
/// (`mock_core::bank::bic`): ISO 9362's shape, the IBAN's country; trimmed and upper case.
#[tokio::test]
async fn a_bic_has_iso_9362s_shape_and_the_ibans_country() {
    let api = Api::start().await;
    let debtor = |bic: &str| {
        json!({
            "acting_as": "consumer",
            "person": {"first_name": "Erika", "last_name": "Mustermann", "salutation": "ms"},
            "bank_accounts": [{"iban": "FR1420041010050500013M02606", "bic": bic}]
        })
    };
    let ok = api.post("/v2/debtors/", debtor(" bnpafrpp ")).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.body["bank_accounts"][0]["bic"], "BNPAFRPP", "{}", ok.body);
    for bad in ["BNPADEFF", "BNP1FRPP", "BNPAFR-P", "BNPAFRPP1"] {
        let r = api.post("/v2/debtors/", debtor(bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let fields = error_fields(&r.body);
        assert!(fields.iter().any(|f| f.ends_with("bic")), "{bad}: {fields:?}");
        assert!(
            r.body
                .to_string()
                .contains("four letters of bank, then the IBAN's country"),
            "{bad}: {}",
            r.body
        );
    }
    // A BIC that cannot be read is one error at its field, not also a missing BIC.
    for bad in [json!(12345678), json!(["BNPAFRPP"]), json!("BNPAFRPPXXXX")] {
        let mut body = debtor("");
        body["bank_accounts"][0]["bic"] = bad.clone();
        let r = api.post("/v2/debtors/", body).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(error_fields(&r.body), ["bank_accounts[0].bic"], "{bad}: {}", r.body);
    }
}

/// The `field`s of a v2 error envelope's `errors`.
fn error_fields(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect()
}
