//! The paywise world as data: the database's storage form (`mock_core::snapshot`) loads back into
//! an identical database (equal fingerprints, equal re-export), after the fixtures and after any
//! sequence of API writes; the token registry round-trips as JSON; and the fixture size
//! (`seed::generate_sized`) behaves as documented.

use std::collections::{BTreeMap, HashSet};

use mock_core::snapshot;
use mock_core::testing::ANCHOR_DATE;
use mock_paywise::MockPaywise;
use mock_paywise::resources::partner::{FIXTURE_ACCOUNT, PARTNER_TOKEN};
use mock_paywise::seed::{COMPANY, generate, generate_sized};
use mock_paywise::state::{AccessMode, Db, Grant, Scope};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Exports `db`, imports the export and checks that the import is the same database: equal
/// fingerprints, and the same export (as a value and as text, the state file's form).
fn assert_round_trip(db: &Db) -> Value {
    let stored = snapshot::to_value(db).expect("the database serializes");
    let back: Db = serde_json::from_value(stored.clone()).expect("the export loads");
    assert_eq!(
        back.fingerprint(),
        db.fingerprint(),
        "the import holds the same records"
    );
    let text = snapshot::to_vec(db).expect("serializes as text");
    assert_eq!(
        snapshot::to_vec(&back).expect("serializes as text"),
        text,
        "the import exports byte for byte the same"
    );
    let from_text: Db = serde_json::from_slice(&text).expect("the text export loads");
    assert_eq!(
        from_text.fingerprint(),
        db.fingerprint(),
        "the text export loads the same records"
    );
    assert_eq!(snapshot::to_value(&from_text).expect("serializes"), stored);
    stored
}

fn test_scope() -> Scope {
    Scope {
        company: COMPANY,
        mode: AccessMode::Test,
    }
}

#[test]
fn the_fixtures_round_trip_with_their_hidden_fields() {
    let (db, _) = generate(7, ANCHOR_DATE);
    assert!(!db.fingerprint().is_empty());
    let stored = assert_round_trip(&db);

    // A debtor's API form has neither its sequence number nor its scope; its storage form has both.
    let debtor = db.debtors.iter(&test_scope()).next().expect("a debtor");
    let api = serde_json::to_value(debtor).expect("serializes");
    assert!(api.get("seq").is_none() && api.get("scope").is_none(), "{api}");
    let row = stored["debtors"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|d| d["id"] == api["id"])
        .expect("stored");
    assert_eq!(row["seq"], json!(debtor.seq));
    assert_eq!(row["scope"], json!({"company": COMPANY, "mode": "test"}));

    // A file's bytes are never in JSON answers; the storage form has them (base64).
    let file = db.files.iter(&test_scope()).next().expect("a generated file");
    assert!(!file.content.is_empty());
    assert!(serde_json::to_value(file).expect("serializes").get("content").is_none());
    let row = stored["files"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|f| f["id"] == json!(file.id))
        .expect("stored");
    assert!(row["content"].as_str().is_some_and(|c| !c.is_empty()));

    // A mandate's balance is rendered by hand in the API; the record's own form keeps it hidden.
    let mandate = db.mandates.iter(&test_scope()).next().expect("a mandate");
    assert!(
        serde_json::to_value(mandate)
            .expect("serializes")
            .get("balance")
            .is_none()
    );
    assert!(stored["mandates"][0]["balance"]["legal"].is_array());

    // The partner's data is in the database.
    assert_eq!(stored["partner_accounts"].as_array().map(Vec::len), Some(1));
    assert_eq!(stored["partner_companies"].as_array().map(Vec::len), Some(2));
    assert_eq!(stored["partner_users"].as_array().map(Vec::len), Some(3));
    assert_eq!(stored["partner_invites"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_stored_database_without_some_tables_loads_them_empty() {
    let db: Db = serde_json::from_value(json!({"debtors": []})).expect("loads");
    assert!(db.fingerprint().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Generated fixtures of other sizes
// ---------------------------------------------------------------------------------------------

#[test]
fn size_one_is_the_standard_fixtures() {
    let (a, last_a) = generate(7, ANCHOR_DATE);
    let (b, last_b) = generate_sized(7, ANCHOR_DATE, 1);
    assert_eq!(last_a, last_b);
    assert_eq!(a.fingerprint(), b.fingerprint());
}

#[test]
fn size_zero_has_no_case_management_data() {
    let (db, last) = generate_sized(7, ANCHOR_DATE, 0);
    assert_eq!(last, 0);
    assert!(db.debtors.is_empty());
    assert!(db.claims.is_empty());
    assert!(db.mandates.is_empty());
    assert!(db.status_updates.is_empty());
    assert!(db.payments.is_empty());
    assert!(db.statements.is_empty());
    assert!(db.mandate_details.is_empty());
    assert!(db.requests_to_client.is_empty());
    assert!(db.files.is_empty());
    assert!(db.webhooks.is_empty());
    assert!(db.deliveries.is_empty());
    // Only the partner keys' (empty) account.
    assert!(db.partner_companies.is_empty() && db.partner_users.is_empty() && db.partner_invites.is_empty());
    assert_eq!(
        db.fingerprint(),
        vec![format!(
            "partner_accounts: PartnerAccount {{ id: {FIXTURE_ACCOUNT}, last_seq: 0, next_company: 0 }}"
        )]
    );
    assert_round_trip(&db);
}

#[tokio::test]
async fn a_mock_of_size_zero_starts_empty_and_works() {
    let mock = MockPaywise::test().seed(7).start().await;
    let (empty, _) = generate_sized(7, ANCHOR_DATE, 0);
    mock.state().store.replace(empty);
    let client = reqwest::Client::new();
    let page: Value = client
        .get(format!("{}/v1/debtors/", mock.uri()))
        .bearer_auth(mock.token())
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(page["count"], 0, "{page}");
    let (status, company) = {
        let res = client
            .post(format!("{}/partner/v1/companies/", mock.uri()))
            .bearer_auth(PARTNER_TOKEN)
            .json(&json!({"name": "Erste GmbH", "phone": "+49 30 1"}))
            .send()
            .await
            .expect("sent");
        (res.status().as_u16(), res.json::<Value>().await.expect("json"))
    };
    assert_eq!(status, 200, "{company}");
    let stored = mock
        .state()
        .store
        .read(|db| db.partner_companies.iter_all().next().cloned());
    assert_eq!(
        stored.map(|c| (c.seq, c.number)),
        Some((1, 1001)),
        "the first of the account"
    );
}

#[test]
fn size_two_doubles_the_debtors_with_unique_ids_and_references() {
    let (one, _) = generate(7, ANCHOR_DATE);
    let (two, last) = generate_sized(7, ANCHOR_DATE, 2);
    let (again, last_again) = generate_sized(7, ANCHOR_DATE, 2);
    assert_eq!(two.fingerprint(), again.fingerprint(), "deterministic");
    assert_eq!(last, last_again);
    for mode in [AccessMode::Test, AccessMode::Production] {
        let scope = Scope { company: COMPANY, mode };
        assert_eq!(
            two.debtors.scope_len(&scope),
            2 * one.debtors.scope_len(&scope),
            "{mode:?}"
        );
        assert!(two.claims.scope_len(&scope) > one.claims.scope_len(&scope), "{mode:?}");
        let mut refs = HashSet::new();
        for d in two.debtors.iter(&scope) {
            assert!(
                refs.insert(d.your_reference.clone()),
                "debtor reference {:?}",
                d.your_reference
            );
        }
        let mut refs = HashSet::new();
        let mut documents = HashSet::new();
        for c in two.claims.iter(&scope) {
            assert!(
                refs.insert(c.your_reference.clone()),
                "claim reference {:?}",
                c.your_reference
            );
            assert!(documents.insert(c.document_reference.clone()));
            assert!(two.debtors.get(&scope, &c.debtor.to_string()).is_some());
        }
    }
    assert!(two.mandates.len() > one.mandates.len());
    assert!(two.payments.len() > one.payments.len());
    assert!(two.requests_to_client.len() > one.requests_to_client.len());
    assert!(two.files.len() > one.files.len());
    assert_eq!(two.statements.len(), one.statements.len(), "statements stay monthly");
    let mut numbers = HashSet::new();
    for m in two.mandates.iter_all() {
        assert!(
            numbers.insert(m.reference_number.clone()),
            "file number {}",
            m.reference_number
        );
    }
    // Every id is unique across all tables, and the highest sequence number is the one reported.
    let stored = assert_round_trip(&two);
    let mut ids = HashSet::new();
    let mut max_seq = 0;
    for table in [
        "debtors",
        "claims",
        "mandates",
        "status_updates",
        "requests_to_client",
        "payments",
        "statements",
        "mandate_details",
        "files",
        "v2_single_statements",
        "v2_orders",
        "v2_documents",
        "v2_messages",
        "v2_order_requests",
        // The events of the fixtures' settling (the time-driven rules' v2 feed entries).
        "v2_events",
    ] {
        for row in stored[table].as_array().expect("a list") {
            assert!(ids.insert(row["id"].to_string()), "{table} id {}", row["id"]);
            max_seq = max_seq.max(row["seq"].as_u64().expect("seq"));
        }
    }
    assert_eq!(max_seq, last);
    // The partner's data does not grow.
    let partner = |db: &Db| {
        db.fingerprint()
            .into_iter()
            .filter(|l| l.starts_with("partner_"))
            .collect::<Vec<_>>()
    };
    assert_eq!(partner(&two), partner(&one));
}

// ---------------------------------------------------------------------------------------------
// After API writes
// ---------------------------------------------------------------------------------------------

/// One write through the API.
#[derive(Debug, Clone)]
enum Write {
    /// A new debtor.
    Debtor,
    /// A new claim on a fixture debtor, with one item of this quantity and this main amount.
    Claim { cents: u32, quantity: f64 },
    /// Releases the newest claim still `created` (a new claim if there is none).
    Release,
    /// A payment on the newest claim.
    Payment { cents: u32 },
    /// A webhook endpoint for claims and payments.
    Webhook,
    /// A document uploaded to the newest claim.
    Document { bytes: Vec<u8> },
    /// A company created through the Partner API.
    PartnerCompany,
    /// A verified user of the partner's complete company, created through the Partner API.
    PartnerUser,
    /// An invite of the partner's complete company.
    PartnerInvite,
    /// A debtor created by the partner acting for a user of its complete company.
    DebtorAsPartnerUser,
    /// A v2 webhook endpoint (idempotent create) and a test delivery to it, which fails.
    V2Webhook,
    /// A v2 Partner company and its first (admin) membership, both idempotent creates.
    V2Membership,
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        Just(Write::Debtor),
        (
            1u32..500_000,
            prop_oneof![Just(1.0), Just(0.1 + 0.2), Just(2.5), Just(1e-7), 0.001f64..1000.0]
        )
            .prop_map(|(cents, quantity)| Write::Claim { cents, quantity }),
        Just(Write::Release),
        (1u32..10_000).prop_map(|cents| Write::Payment { cents }),
        Just(Write::Webhook),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(|bytes| Write::Document { bytes }),
        Just(Write::PartnerCompany),
        Just(Write::PartnerUser),
        Just(Write::PartnerInvite),
        Just(Write::DebtorAsPartnerUser),
        Just(Write::V2Webhook),
        Just(Write::V2Membership),
    ]
}

struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
    n: usize,
}

impl Client {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// A v2 `POST` with a fresh `Idempotency-Key` (kept by the mock, so it is part of the world).
    async fn post_v2(&mut self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.n += 1;
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("world-{}", self.n))
                .json(&body),
        )
        .await
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (status, v) = self
            .send(self.http.get(format!("{}{path}", self.base)).bearer_auth(token))
            .await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    fn debtor_body(&mut self) -> Value {
        self.n += 1;
        json!({
            "your_reference": format!("world-{}", self.n),
            "acting_as": "business",
            "organization": {"name": "Muster GmbH"},
            "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
        })
    }

    async fn claim(&mut self, cents: u32, quantity: f64) -> Value {
        let debtors = self.get("/v1/debtors/?limit=1", &self.token.clone()).await;
        let main = rust_decimal::Decimal::new(i64::from(cents), 2).to_string();
        self.n += 1;
        let body = json!({
            "debtor": debtors["results"][0]["id"],
            "your_reference": format!("world-claim-{}", self.n),
            "main_claim_amount": {"value": main, "currency": "EUR"},
            "total_claim_amount": {"value": main, "currency": "EUR"},
            "items": [{"description": "Rechnungsbetrag", "quantity": quantity, "unit": "Stück",
                       "amount": {"value": main, "currency": "EUR"}}],
            "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null,
            "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial",
            "claim_disputed": false, "obligation_fulfilled": true
        });
        let (status, claim) = self.post("/v1/claims/", &self.token.clone(), body).await;
        assert_eq!(status, 201, "{claim}");
        claim
    }

    /// The newest claim (creating one if the fixtures' first page were empty).
    async fn newest_claim(&mut self, state: &str) -> Value {
        let page = self
            .get(
                &format!("/v1/claims/?submission_state={state}&limit=1000"),
                &self.token.clone(),
            )
            .await;
        match page["results"].as_array().and_then(|r| r.last()) {
            Some(c) => c.clone(),
            None => self.claim(10_000, 1.0).await,
        }
    }

    /// The partner's complete company.
    async fn complete_company(&self) -> String {
        let page = self.get("/partner/v1/companies/", PARTNER_TOKEN).await;
        page["results"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["data_submission_completed"] == true))
            .and_then(|c| c["id"].as_str())
            .expect("a complete company")
            .to_string()
    }

    async fn partner_user(&mut self) -> Value {
        let company = self.complete_company().await;
        self.n += 1;
        let body = json!({"email": format!("world{}@kunde.example", self.n), "first_name": "Nina", "last_name": "Neu",
                          "company": company, "skip_email_verification": true});
        let (status, user) = self.post("/partner/v1/users/", PARTNER_TOKEN, body).await;
        assert_eq!(status, 201, "{user}");
        user
    }

    async fn apply(&mut self, w: &Write) {
        let token = self.token.clone();
        match w {
            Write::Debtor => {
                let body = self.debtor_body();
                let (status, d) = self.post("/v1/debtors/", &token, body).await;
                assert_eq!(status, 201, "{d}");
            }
            Write::Claim { cents, quantity } => {
                self.claim(*cents, *quantity).await;
            }
            Write::Release => {
                let claim = self.newest_claim("created").await;
                let path = format!("{}/v1/claims/{}/", self.base, claim["id"].as_str().expect("id"));
                let (status, c) = self
                    .send(
                        self.http
                            .patch(path)
                            .bearer_auth(&token)
                            .json(&json!({"submission_state": "released"})),
                    )
                    .await;
                assert_eq!(status, 200, "{c}");
            }
            Write::Payment { cents } => {
                let claim = self.newest_claim("released").await;
                let value = rust_decimal::Decimal::new(i64::from(*cents), 2).to_string();
                let body = json!({"claim": claim["id"], "amount": {"value": value, "currency": "EUR"},
                                  "value_date": "2026-11-20"});
                let (status, p) = self.post("/v1/payments/", &token, body).await;
                assert_eq!(status, 201, "{p}");
            }
            Write::Webhook => {
                // A loopback port nobody listens on: every attempt fails at once, on this machine.
                let body = json!({"url": "https://127.0.0.1:1/hooks", "events": ["claim.created", "payment.created"]});
                let (status, w) = self.post("/v1/webhooks/", &token, body).await;
                assert_eq!(status, 201, "{w}");
            }
            Write::Document { bytes } => {
                let claim = self.newest_claim("created").await;
                let path = format!(
                    "{}/v1/claims/{}/documents/",
                    self.base,
                    claim["id"].as_str().expect("id")
                );
                let mut body = b"--WORLD\r\nContent-Disposition: form-data; name=\"file\"; filename=\"doc.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
                body.extend_from_slice(b"%PDF-1.4\n");
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n--WORLD--\r\n");
                let req = self
                    .http
                    .post(path)
                    .bearer_auth(&token)
                    .header("content-type", "multipart/form-data; boundary=WORLD")
                    .body(body);
                let (status, c) = self.send(req).await;
                assert_eq!(status, 201, "{c}");
            }
            Write::PartnerCompany => {
                self.n += 1;
                let body = json!({"name": format!("Neu {} GmbH", self.n), "phone": "+49 30 1"});
                let (status, c) = self.post("/partner/v1/companies/", PARTNER_TOKEN, body).await;
                assert_eq!(status, 200, "{c}");
            }
            Write::PartnerUser => {
                self.partner_user().await;
            }
            Write::PartnerInvite => {
                let company = self.complete_company().await;
                self.n += 1;
                let body = json!({"email": format!("invite{}@kunde.example", self.n), "company": company,
                                  "success_url": "https://partner.example/ok", "failure_url": "https://partner.example/no"});
                let (status, i) = self.post("/partner/v1/userinvites/", PARTNER_TOKEN, body).await;
                assert_eq!(status, 201, "{i}");
            }
            Write::V2Webhook => {
                // Port 9 on loopback: nothing listens, the test delivery's attempt fails at once.
                let url = format!("http://127.0.0.1:9/v2-hooks-{}", self.n);
                let body = json!({"url": url, "events": ["order.submitted"]});
                let (status, w) = self.post_v2("/v2/webhooks/", &token, body).await;
                assert_eq!(status, 201, "{w}");
                let test = format!("/v2/webhooks/{}/test/", w["id"].as_str().expect("id"));
                let (status, d) = self.post_v2(&test, &token, json!({"event": "order.submitted"})).await;
                assert!(status < 300, "{status} {d}");
            }
            Write::V2Membership => {
                let name = format!("Welt {} GmbH", self.n);
                let body = json!({"name": name, "onboarding_mode": "api_only"});
                let (status, c) = self.post_v2("/partner/v2/companies/", PARTNER_TOKEN, body).await;
                assert_eq!(status, 201, "{c}");
                let users = format!("/partner/v2/companies/{}/users/", c["id"].as_str().expect("id"));
                let member = json!({"email": format!("admin{}@welt.example", self.n), "first_name": "A",
                                    "last_name": "B", "role": "admin"});
                let (status, m) = self.post_v2(&users, PARTNER_TOKEN, member).await;
                assert_eq!(status, 201, "{m}");
            }
            Write::DebtorAsPartnerUser => {
                let user = self.partner_user().await;
                let body = self.debtor_body();
                let req = self
                    .http
                    .post(format!("{}/v1/debtors/", self.base))
                    .bearer_auth(PARTNER_TOKEN)
                    .header("X-User-Id", user["id"].as_str().expect("id"))
                    .json(&body);
                let (status, d) = self.send(req).await;
                assert_eq!(status, 201, "{d}");
            }
        }
    }
}

/// Waits (bounded) until every webhook delivery has had its first attempt and none is under way:
/// attempts run in the background, and the snapshots below compare a world at rest (the next
/// retry is a minute away on the mock's clock).
async fn settled(mock: &MockPaywise) {
    let start = std::time::Instant::now();
    while !mock.state().store.read(|db| {
        db.deliveries.iter_all().all(|d| d.attempts > 0 && !d.in_flight)
            && db.v2_deliveries.iter_all().all(|d| d.attempts > 0 && !d.in_flight)
    }) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the webhook deliveries never settled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Applies `writes` to a fresh mock and checks the round trips; the database after them.
async fn run(writes: Vec<Write>) -> Db {
    let mock = MockPaywise::test().seed(7).start().await;
    let mut client = Client {
        base: mock.uri(),
        token: mock.token().to_string(),
        http: reqwest::Client::new(),
        n: 0,
    };
    for w in &writes {
        client.apply(w).await;
    }
    settled(&mock).await;
    let db = mock.state().store.snapshot();
    let stored = assert_round_trip(&db);

    // A webhook's secret is in the storage form only.
    for w in db.webhooks.iter_all() {
        assert!(serde_json::to_value(w).expect("serializes").get("secret_key").is_none());
        let row = stored["webhooks"]
            .as_array()
            .and_then(|ws| ws.iter().find(|r| r["id"] == json!(w.id)))
            .expect("stored");
        assert_eq!(row["secret_key"], json!(w.secret_key));
        assert!(!w.secret_key.is_empty());
    }
    // Whatever the partner wrote is in the database, not beside it.
    // (v1 and v2 share the Partner's companies: a v2 membership's write creates one too.)
    let companies = writes
        .iter()
        .filter(|w| matches!(w, Write::PartnerCompany | Write::V2Membership))
        .count();
    assert_eq!(db.partner_companies.scope_len(&FIXTURE_ACCOUNT), 2 + companies);

    // The token registry as JSON and back.
    let entries = mock.state().tokens.entries();
    let json = serde_json::to_string(&entries).expect("tokens serialize");
    let back: BTreeMap<String, Grant> = serde_json::from_str(&json).expect("tokens load");
    assert_eq!(back, entries);
    let registry = mock_core::auth::TokenRegistry::<Grant>::new();
    registry.replace(back);
    assert_eq!(registry.entries(), entries);
    assert!(
        json.contains(r#""mode":"test""#) && json.contains(r#""mode":"production""#),
        "{json}"
    );

    // The whole world (tables, ids, tokens, clock) through the control plane's snapshot: loaded
    // into another world it exports identically and hands out the same next ids.
    let snapshot = mock.snapshot();
    let copy = mock.world("copy").expect("a valid name");
    copy.restore(snapshot.clone()).expect("the export loads");
    let mut again = copy.snapshot();
    again["world"] = snapshot["world"].clone();
    assert!(again == snapshot, "a restored world exports what it was restored from");
    assert_eq!(copy.state().ids.state(), mock.state().ids.state());
    assert_eq!(copy.state().store.snapshot().fingerprint(), db.fingerprint());
    db
}

/// Every kind of write once, so that every table they fill is read back at least once: the v2
/// webhooks, their deliveries, the memberships and the idempotency records included.
#[tokio::test]
async fn every_kind_of_write_round_trips() {
    let writes = vec![
        Write::Debtor,
        Write::Claim {
            cents: 12_345,
            quantity: 1.0,
        },
        Write::Release,
        Write::Payment { cents: 500 },
        Write::Webhook,
        Write::Claim {
            cents: 1_000,
            quantity: 2.5,
        },
        Write::Document { bytes: vec![1, 2, 3] },
        Write::PartnerCompany,
        Write::PartnerUser,
        Write::PartnerInvite,
        Write::DebtorAsPartnerUser,
        Write::V2Webhook,
        Write::V2Membership,
    ];
    let db = run(writes).await;
    for table in [
        "v2_webhooks",
        "v2_deliveries",
        "v2_memberships",
        "v2_idempotency",
        "deliveries",
    ] {
        assert!(!db_empty(&db, table), "{table} holds no records after the writes");
    }
}

/// Whether `db`'s table `table` (one of those [`every_kind_of_write_round_trips`] names) is empty.
fn db_empty(db: &Db, table: &str) -> bool {
    match table {
        "v2_webhooks" => db.v2_webhooks.iter_all().next().is_none(),
        "v2_deliveries" => db.v2_deliveries.iter_all().next().is_none(),
        "v2_memberships" => db.v2_memberships.iter_all().next().is_none(),
        "v2_idempotency" => db.v2_idempotency.iter_all().next().is_none(),
        "deliveries" => db.deliveries.iter_all().next().is_none(),
        other => panic!("unknown table {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_database_round_trips_after_api_writes(writes in proptest::collection::vec(write(), 1..8)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(run(writes));
    }
}
