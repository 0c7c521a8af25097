//! The Payt mock's data as a world: the database's storage form (every field, hidden ones
//! included) loads back into the same database, after the fixtures and after any sequence of API
//! writes; and the fixtures can be generated at other sizes.

use base64::Engine;
use mock_core::snapshot;
use mock_core::testing::ANCHOR_DATE;
use mock_payt::MockPayt;
use mock_payt::resources::invoices::Invoice;
use mock_payt::resources::payments::Payment;
use mock_payt::resources::vat_rates::VatRate;
use mock_payt::seed::{generate, generate_sized};
use mock_payt::state::{Db, Grant};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha3::{Digest, Sha3_512};

/// Exports `db`, imports the export and checks the import is the same database and exports the
/// same text again; the export.
fn round_trip(db: &Db) -> Value {
    let stored = snapshot::to_value(db).expect("the storage form serializes");
    let back: Db = serde_json::from_value(stored.clone()).expect("the storage form loads");
    let (want, got) = (db.fingerprint(), back.fingerprint());
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        // One table at a time, so a failure names the table rather than printing the world.
        let table = w.split(':').next().unwrap_or_default();
        assert!(w == g, "table {table} differs after the round trip");
    }
    let again = snapshot::to_value(&back).expect("serializes");
    assert!(again == stored, "the re-export differs from the export");
    stored
}

#[test]
fn seeded_db_round_trips_through_its_storage_form() {
    let (db, _) = generate(7, ANCHOR_DATE);
    let stored = round_trip(&db);

    // The storage form keeps a field the API never shows; the API form (plain serde) does not.
    let stored_invoice = &stored["invoices"][0];
    assert!(
        stored_invoice["flow"].as_str().is_some_and(|f| !f.is_empty()),
        "{stored_invoice}"
    );
    let api = serde_json::to_value(&db).expect("serializes");
    assert!(api["invoices"][0].get("flow").is_none());
    assert!(api["invoices"][0].get("invoice_number").is_some());
    // And the hidden bytes of the fixture documents.
    let file = &stored["files"][0];
    assert!(file["content"].as_str().is_some_and(|c| !c.is_empty()), "{file}");
    assert!(api["files"][0].get("content").is_none());
}

/// What the API writes lossily (money rounded to two decimals, a VAT rate as a float, a PSP
/// transaction that is `null` or absent alike) is stored exactly: scale, extra digits, sub-second
/// time and `Some(null)` survive the round trip, while the API form stays what it was.
#[test]
fn lossy_api_values_are_stored_exactly() {
    let mut db = Db::default();
    let odd = mock_core::testing::at("2026-11-01T09:00:00.250Z");
    db.invoices
        .insert(Invoice {
            id: 1,
            administration_id: 81,
            invoice_number: "X-1".into(),
            total_amount: Decimal::new(12_345, 3),
            open_amount: Decimal::from(40),
            book_open_amount: Decimal::new(-5, 1),
            updated_at: odd,
            blocked_at: Some(odd.into()),
            flow: "b2b".into(),
            ..Default::default()
        })
        .expect("fresh");
    db.vat_rates
        .insert(VatRate {
            id: 2,
            administration_id: 81,
            code: "T5".into(),
            rate: Decimal::new(5_500, 3),
            updated_at: odd,
            ..Default::default()
        })
        .expect("fresh");
    for (id, psp) in [(3, None), (4, Some(Value::Null))] {
        db.payments
            .insert(Payment {
                id,
                administration_id: 81,
                total_amount: Decimal::new(1, 0),
                psp_transaction: psp.map(Box::new),
                ..Default::default()
            })
            .expect("fresh");
    }
    let stored = round_trip(&db);
    assert_eq!(stored["invoices"][0]["total_amount"], "12.345");
    assert!(stored["payments"][0].get("psp_transaction").is_none());
    assert_eq!(stored["payments"][1]["psp_transaction"], Value::Null);
    assert_eq!(stored["invoices"][0]["open_amount"], "40");
    assert_eq!(stored["invoices"][0]["updated_at"], "2026-11-01T09:00:00.250Z");
    assert_eq!(stored["vat_rates"][0]["rate"], "5.500");
    let back: Db = serde_json::from_value(stored).expect("loads");
    let inv = back.invoices.get(&81, "1").expect("loaded");
    assert_eq!(inv.total_amount.scale(), 3);
    assert_eq!(inv.open_amount.scale(), 0);
    assert_eq!(inv.updated_at, odd);
    assert_eq!(back.vat_rates.get(&81, "2").map(|r| r.rate.scale()), Some(3));

    let api = serde_json::to_value(&db).expect("serializes");
    assert_eq!(api["invoices"][0]["total_amount"], "12.35");
    assert_eq!(api["invoices"][0]["open_amount"], "40.00");
    assert_eq!(api["invoices"][0]["updated_at"], "2026-11-01T09:00:00Z");
    assert_eq!(api["vat_rates"][0]["rate"], json!(5.5));
    assert_eq!(api["payments"][0]["psp_transaction"], Value::Null);
    assert_eq!(api["payments"][1]["psp_transaction"], Value::Null);
    assert_eq!(api["payments"][0]["total_amount"], "1.00");
}

#[test]
fn grants_serialize_in_a_fixed_order_and_load_back() {
    let grant = Grant {
        administrations: Some([82, 81].into_iter().collect()),
        scopes: Some(["tasks:read", "invoices:read"].iter().map(|s| s.to_string()).collect()),
    };
    let v = serde_json::to_value(&grant).expect("serializes");
    assert_eq!(
        v,
        json!({"administrations": [81, 82], "scopes": ["invoices:read", "tasks:read"]})
    );
    assert_eq!(serde_json::from_value::<Grant>(v).expect("loads"), grant);
    let full = serde_json::to_value(Grant::full()).expect("serializes");
    assert_eq!(serde_json::from_value::<Grant>(full).expect("loads"), Grant::full());
}

// ------------------------------------------------------------------------------------------------
// Sizes

#[test]
fn size_zero_has_only_the_tenants_and_their_reference_data() {
    let (db, last) = generate_sized(7, ANCHOR_DATE, 0);
    for admin in [81, 82, 83] {
        assert!(db.administrations.get(&(), &admin.to_string()).is_some(), "{admin}");
        assert!(db.vat_rates.scope_len(&admin) > 0, "{admin}");
        assert!(db.payment_conditions.scope_len(&admin) > 0, "{admin}");
    }
    assert_eq!(db.companies.len(), 1);
    assert!(db.invoices.is_empty());
    let empty = [
        ("debtors", db.debtors.len()),
        ("contacts", db.contacts.len()),
        ("invoices", db.invoices.len()),
        ("deleted_invoices", db.deleted_invoices.len()),
        ("payments", db.payments.len()),
        ("deleted_payments", db.deleted_payments.len()),
        ("credit_cases", db.credit_cases.len()),
        ("deleted_credit_cases", db.deleted_credit_cases.len()),
        ("payment_plans", db.payment_plans.len()),
        ("deleted_payment_plans", db.deleted_payment_plans.len()),
        ("notifications", db.notifications.len()),
        ("notes", db.notes.len()),
        ("messages", db.messages.len()),
        ("tasks", db.tasks.len()),
        ("files", db.files.len()),
        ("orders", db.orders.len()),
        ("order_lines", db.order_lines.len()),
        ("psp_mandates", db.psp_mandates.len()),
        ("deleted_psp_mandates", db.deleted_psp_mandates.len()),
        ("psp_transactions", db.psp_transactions.len()),
    ];
    for (table, len) in empty {
        assert_eq!(len, 0, "{table}");
    }
    assert!(last >= 1001, "ids were handed out: {last}");
    round_trip(&db);
}

#[test]
fn size_two_doubles_the_debtors_with_unique_ids_and_numbers() {
    let (one, last_one) = generate_sized(7, ANCHOR_DATE, 1);
    let (same, last_same) = generate(7, ANCHOR_DATE);
    assert_eq!(one.fingerprint(), same.fingerprint(), "generate is size 1");
    assert_eq!(last_one, last_same);

    let (two, last_two) = generate_sized(7, ANCHOR_DATE, 2);
    assert!(last_two > last_one);
    for admin in [81, 82, 83] {
        assert_eq!(
            two.debtors.scope_len(&admin),
            2 * one.debtors.scope_len(&admin),
            "debtors of {admin}"
        );
        // Every kind of record that comes with the debtors grows too.
        assert!(two.invoices.scope_len(&admin) > one.invoices.scope_len(&admin));
        assert!(two.payments.scope_len(&admin) > one.payments.scope_len(&admin));
        assert!(two.credit_cases.scope_len(&admin) > one.credit_cases.scope_len(&admin));
        assert!(two.payment_plans.scope_len(&admin) > one.payment_plans.scope_len(&admin));
        assert!(two.contacts.scope_len(&admin) > one.contacts.scope_len(&admin));
        assert!(two.deleted_invoices.scope_len(&admin) > one.deleted_invoices.scope_len(&admin));

        // Unique business keys per administration, tombstones included.
        let distinct = |keys: Vec<String>| {
            let n = keys.len();
            let set: std::collections::BTreeSet<String> = keys.into_iter().collect();
            set.len() == n
        };
        let mut numbers: Vec<String> = two
            .invoices
            .iter(&admin)
            .map(|i| i.invoice_number.to_string())
            .collect();
        numbers.extend(two.deleted_invoices.iter(&admin).map(|d| d.invoice_number.clone()));
        assert!(distinct(numbers), "invoice numbers of {admin}");
        let identifiers = two
            .invoices
            .iter(&admin)
            .filter_map(|i| i.invoice_identifier.as_deref().map(str::to_owned))
            .collect();
        assert!(distinct(identifiers), "invoice identifiers of {admin}");
        let debtor_numbers = two.debtors.iter(&admin).map(|d| d.debtor_number.clone()).collect();
        assert!(distinct(debtor_numbers), "debtor numbers of {admin}");
        let debtor_identifiers = two.debtors.iter(&admin).map(|d| d.debtor_identifier.clone()).collect();
        assert!(distinct(debtor_identifiers), "debtor identifiers of {admin}");
        let cases = two
            .credit_cases
            .iter(&admin)
            .map(|c| c.credit_case_number.clone())
            .collect();
        assert!(distinct(cases), "case numbers of {admin}");
        let contacts = two
            .contacts
            .iter(&admin)
            .filter_map(|c| c.contact_identifier.clone())
            .collect();
        assert!(distinct(contacts), "contact identifiers of {admin}");
        let lines = two
            .order_lines
            .iter(&admin)
            .map(|l| l.order_line_identifier.clone())
            .collect();
        assert!(distinct(lines), "order-line identifiers of {admin}");
        let references = two
            .psp_mandates
            .iter(&admin)
            .filter_map(|m| m.mandate_reference.clone())
            .collect();
        assert!(distinct(references), "mandate references of {admin}");

        // Relations stay inside the administration.
        for i in two.invoices.iter(&admin) {
            assert!(two.debtors.get(&admin, &i.debtor_id.to_string()).is_some());
        }
        for c in two.credit_cases.iter(&admin) {
            for i in &c.invoice_ids {
                let inv = two.invoices.get(&admin, &i.to_string()).expect("case invoice");
                assert_eq!(inv.debtor_id, c.debtor_id);
            }
        }
    }
    // Ids are unique across the tables.
    let mut seen = std::collections::BTreeSet::new();
    let all_ids = two
        .debtors
        .iter_all()
        .map(|d| d.id)
        .chain(two.invoices.iter_all().map(|i| i.id))
        .chain(two.payments.iter_all().map(|p| p.id))
        .chain(two.credit_cases.iter_all().map(|c| c.id))
        .chain(two.contacts.iter_all().map(|c| c.id))
        .chain(two.notifications.iter_all().map(|n| n.id))
        .chain(two.tasks.iter_all().map(|t| t.id))
        .chain(two.files.iter_all().map(|f| f.id));
    for id in all_ids {
        assert!(seen.insert(id), "id {id} used twice");
    }
    let mut bank = std::collections::BTreeSet::new();
    for p in two.payments.iter_all() {
        if let Some(b) = &p.bank_transaction {
            assert!(bank.insert(b.id), "bank transaction {} used twice", b.id);
        }
    }

    // The size-1 data is part of the size-2 data, unchanged.
    for i in one.invoices.iter_all() {
        assert_eq!(two.invoices.get(&i.administration_id, &i.id.to_string()), Some(i));
    }
    for d in one.debtors.iter_all() {
        assert_eq!(two.debtors.get(&d.administration_id, &d.id.to_string()), Some(d));
    }

    // Deterministic for the same seed, different for another.
    let (again, last_again) = generate_sized(7, ANCHOR_DATE, 2);
    assert_eq!(last_again, last_two);
    assert!(again.fingerprint() == two.fingerprint(), "size 2 is deterministic");
    let (other, _) = generate_sized(8, ANCHOR_DATE, 2);
    assert!(other.fingerprint() != two.fingerprint());
    round_trip(&two);
}

// ------------------------------------------------------------------------------------------------
// After API writes

/// One API write against administration 81. The numbers pick fixture records (modulo their count)
/// or vary the values written.
#[derive(Debug, Clone)]
enum Op {
    CreateDebtor(u8),
    CreateInvoice {
        cents: u32,
        paid_cents: u32,
    },
    UpdateInvoice(u8),
    /// An invoice with two payments, then the same invoice with one (the other is tombstoned).
    RegisterPayments(u32),
    CreatePaymentPlan(u8),
    TransitionPlan(u8, u8),
    SendMessage(u8),
    CommentTask(u8),
    CompleteTask(u8),
    BlockInvoice(u8),
    ResumeInvoice(u8),
    UpsertVatRate(u16),
    CreateMandate(u8),
    RevokeMandates(u8),
    CreateContact(u8),
    Upload(u8),
    /// A webhook subscription (control plane) whose receiver refuses, so the writes after it leave
    /// deliveries with failed attempts.
    Subscribe(u8),
    /// A sign-up of a new company through the application's Basic-auth route.
    SignUp(u8),
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::CreateDebtor),
        (1u32..1_000_000, 0u32..1_000_000).prop_map(|(cents, paid)| Op::CreateInvoice {
            cents,
            paid_cents: paid % (cents + 1)
        }),
        any::<u8>().prop_map(Op::UpdateInvoice),
        (1u32..500_000).prop_map(Op::RegisterPayments),
        any::<u8>().prop_map(Op::CreatePaymentPlan),
        (any::<u8>(), 0u8..3).prop_map(|(p, a)| Op::TransitionPlan(p, a)),
        any::<u8>().prop_map(Op::SendMessage),
        any::<u8>().prop_map(Op::CommentTask),
        any::<u8>().prop_map(Op::CompleteTask),
        any::<u8>().prop_map(Op::BlockInvoice),
        any::<u8>().prop_map(Op::ResumeInvoice),
        (1u16..1000).prop_map(Op::UpsertVatRate),
        any::<u8>().prop_map(Op::CreateMandate),
        any::<u8>().prop_map(Op::RevokeMandates),
        any::<u8>().prop_map(Op::CreateContact),
        any::<u8>().prop_map(Op::Upload),
        any::<u8>().prop_map(Op::Subscribe),
        any::<u8>().prop_map(Op::SignUp),
        (1u16..5000).prop_map(Op::Tick),
    ]
}

struct Client<'a> {
    m: &'a MockPayt,
    http: reqwest::Client,
}

impl Client<'_> {
    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let res = rb.bearer_auth(self.m.token()).send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.m.uri())).json(&body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.patch(format!("{}{path}", self.m.uri())).json(&body))
            .await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.http.delete(format!("{}{path}", self.m.uri()))).await
    }
}

/// The `n`-th (modulo their count) of the values `f` takes over administration 81's records.
fn pick<T>(m: &MockPayt, n: u8, f: impl Fn(&Db) -> Vec<T>) -> T {
    let mut all = m.state().store.read(f);
    assert!(!all.is_empty(), "the fixtures have such records");
    let i = usize::from(n) % all.len();
    all.swap_remove(i)
}

fn debtor_number(m: &MockPayt, n: u8) -> String {
    pick(m, n, |db| {
        db.debtors.iter(&81).map(|d| d.debtor_number.clone()).collect()
    })
}

fn invoice_number(m: &MockPayt, n: u8) -> String {
    pick(m, n, |db| {
        db.invoices.iter(&81).map(|i| i.invoice_number.to_string()).collect()
    })
}

fn cents(c: u32) -> String {
    Decimal::new(i64::from(c), 2).to_string()
}

/// Runs `op` (the `k`-th of its sequence); every answer must be a client's, never a 5xx.
async fn apply(c: &Client<'_>, k: usize, op: &Op) {
    let m = c.m;
    let (status, body) = match op {
        Op::CreateDebtor(n) => {
            c.post(
                "/v1/debtors",
                json!({"administration_id": 81, "debtors": [{
                    "debtor_number": format!("WD-{k}"), "name": format!("Wereld {n}"),
                    "debtor_identifier": format!("wd-{k}"), "category": "retail", "is_company": n % 2 == 0,
                    "bank_account_name": "W. Wereld", "bank_account_number": "NL91ABNA0417164300"
                }]}),
            )
            .await
        }
        Op::CreateInvoice {
            cents: total,
            paid_cents,
        } => {
            let debtor = debtor_number(m, *paid_cents as u8);
            let open = cents(total - paid_cents);
            c.post(
                "/v1/invoices",
                json!({"administration_id": "81", "invoices": [{
                    "invoice_number": format!("WI-{k}"), "currency_code": "EUR",
                    "invoice_date": "2026-11-01", "due_date": "2026-12-01", "debtor_number": debtor,
                    "amount_total": cents(*total), "amount_open": open.clone(),
                    "book_amount_total": cents(*total), "book_amount_open": open,
                    "payment_condition": "30D", "payment_term": 30
                }]}),
            )
            .await
        }
        Op::UpdateInvoice(n) => {
            let number = invoice_number(m, *n);
            c.patch(
                "/v1/invoices",
                json!({"administration_id": "81", "invoices": [
                    {"invoice_number": number, "description": format!("bijgewerkt {k}")}
                ]}),
            )
            .await
        }
        Op::RegisterPayments(paid) => {
            let debtor = debtor_number(m, *paid as u8);
            let mut invoice = json!({
                "invoice_number": format!("WP-{k}"), "currency_code": "EUR",
                "invoice_date": "2026-10-01", "due_date": "2026-11-01", "debtor_number": debtor,
                "amount_total": cents(paid * 2), "amount_open": cents(paid * 2 - paid - 1),
                "book_amount_total": cents(paid * 2), "book_amount_open": cents(paid * 2 - paid - 1),
                "payments": [
                    {"amount": cents(*paid), "origin_identifier": format!("WPA-{k}"), "payment_date": "2026-10-20"},
                    {"amount": "0.01", "origin_identifier": format!("WPB-{k}"), "payment_date": "2026-10-21"}
                ]
            });
            let (s, b) = c
                .post(
                    "/v1/invoices",
                    json!({"administration_id": "81", "invoices": [invoice.clone()]}),
                )
                .await;
            assert!(s < 500, "{b}");
            invoice["payments"] = json!([{"amount": cents(*paid), "origin_identifier": format!("WPA-{k}"), "payment_date": "2026-10-20"}]);
            invoice["amount_open"] = json!(cents(*paid));
            invoice["book_amount_open"] = json!(cents(*paid));
            c.post(
                "/v1/invoices",
                json!({"administration_id": "81", "invoices": [invoice]}),
            )
            .await
        }
        Op::CreatePaymentPlan(n) => {
            let number = pick(m, *n, |db| {
                db.invoices
                    .iter(&81)
                    .filter(|i| !i.open_amount.is_zero() && i.active_payment_plan_id.is_none())
                    .map(|i| i.invoice_number.to_string())
                    .collect()
            });
            c.post(
                "/v1/payment_plans",
                json!({"administration_id": 81, "invoice_numbers": [number],
                       "terms": [{"amount": "10.5", "due_date": "2027-01-01"}, {"amount": 7, "due_date": "2027-02-01"}]}),
            )
            .await
        }
        Op::TransitionPlan(n, action) => {
            let id = pick(m, *n, |db| db.payment_plans.iter(&81).map(|p| p.id).collect());
            let action = ["approve", "reject", "deactivate"][usize::from(*action) % 3];
            c.patch(
                &format!("/v1/payment_plans/{id}/{action}"),
                json!({"administration_id": "81"}),
            )
            .await
        }
        Op::SendMessage(n) => {
            let debtor = debtor_number(m, *n);
            c.post(
                "/v1/messages",
                json!({"administration_id": "81", "debtor_number": debtor,
                       "message": {"subject": format!("Bericht {k}"), "body": "Graag betalen."}}),
            )
            .await
        }
        Op::CommentTask(n) => {
            let id = pick(m, *n, |db| db.tasks.iter(&81).map(|t| t.id).collect());
            c.post(
                &format!("/v1/tasks/{id}/comment"),
                json!({"administration_id": "81", "comment": format!("notitie {k}")}),
            )
            .await
        }
        Op::CompleteTask(n) => {
            let id = pick(m, *n, |db| db.tasks.iter(&81).map(|t| t.id).collect());
            c.patch(
                &format!("/v1/tasks/{id}/mark_completed"),
                json!({"administration_id": "81", "completed_status": "failed",
                       "completed_status_message": "Geen gehoor"}),
            )
            .await
        }
        Op::BlockInvoice(n) => {
            let number = invoice_number(m, *n);
            c.patch(
                "/v1/invoices/block",
                json!({"administration_id": 81, "invoice_numbers": [number], "reason": format!("pauze {k}")}),
            )
            .await
        }
        Op::ResumeInvoice(n) => {
            let number = invoice_number(m, *n);
            c.patch(
                "/v1/invoices/resume",
                json!({"administration_id": 81, "invoice_numbers": [number]}),
            )
            .await
        }
        Op::UpsertVatRate(tenths) => {
            c.post(
                "/v1/vat_rates",
                json!({"administration_id": 81, "vat_rates": [
                    {"code": format!("W{k}"), "rate": Decimal::new(i64::from(*tenths), 1).to_string(), "name": "Wereld"}
                ]}),
            )
            .await
        }
        Op::CreateMandate(n) => {
            let debtor = pick(m, *n, |db| db.debtors.iter(&81).map(|d| d.id).collect());
            c.post(
                "/v1/psp_mandates",
                json!({"administration_id": "81", "psp_mandates": [{
                    "bank_account_name": "W", "bank_account_number": "NL91ABNA0417164300",
                    "provider_code": if n % 2 == 0 { "twikey" } else { "mollie" },
                    "debtor_id": debtor.to_string(), "mandate_reference": format!("WREF-{k}")
                }]}),
            )
            .await
        }
        Op::RevokeMandates(n) => {
            let number = pick(m, *n, |db| {
                db.psp_mandates
                    .iter(&81)
                    .filter_map(|p| db.debtors.get(&81, &p.debtor_id.to_string()))
                    .map(|d| d.debtor_number.clone())
                    .collect()
            });
            c.delete(&format!(
                "/v1/psp_mandates?administration_id=81&debtor_numbers={number}"
            ))
            .await
        }
        Op::CreateContact(n) => {
            let debtor = debtor_number(m, *n);
            c.post(
                "/v1/contacts",
                json!({"administration_id": "81", "contacts": [{
                    "contact_identifier": format!("WC-{k}"), "firstname": "Wim", "lastname": "Wereld",
                    "default_email_address": "wim@example.nl", "birth_date": "1980-02-29",
                    "debtor_numbers": [debtor]
                }]}),
            )
            .await
        }
        Op::Upload(n) => {
            let content = format!("%PDF-1.4\n% world {k} {n}\n%%EOF\n").into_bytes();
            let checksum = base64::engine::general_purpose::STANDARD.encode(Sha3_512::digest(&content));
            let (s, slots) = c
                .post(
                    "/v1/files",
                    json!({"administration_id": "81", "files": [
                        {"checksum": checksum, "byte_size": content.len(), "content_type": "application/pdf"}
                    ]}),
                )
                .await;
            assert_eq!(s, 201, "{slots}");
            let url = slots[0]["url"].as_str().expect("an upload url").to_string();
            let res = c.http.put(url).body(content).send().await.expect("sent");
            (res.status().as_u16(), Value::Null)
        }
        Op::Subscribe(n) => {
            // Port 9 (discard) on loopback: nothing listens, every attempt fails.
            let (status, sub) = c
                .post(
                    "/_mock/payt/webhooks",
                    json!({"url": format!("http://127.0.0.1:9/hook-{k}"), "secret": format!("s{n}"),
                           "administration_ids": [81], "events": ["invoice_created", "invoice_blocked"]}),
                )
                .await;
            assert_eq!(status, 201, "a subscription is created: {sub}");
            (status, sub)
        }
        Op::SignUp(n) => {
            let name = format!("Wereld {k}-{n} B.V.");
            let email = format!("eva-{k}-{n}@wereld.example");
            let form = crate::parties::sign_up_form(&name, &email);
            let res = c
                .http
                .post(format!("{}/v1/sign_up", m.uri()))
                .basic_auth(
                    mock_payt::resources::companies::CLIENT_ID,
                    Some(mock_payt::resources::companies::CLIENT_SECRET),
                )
                .form(&form)
                .send()
                .await
                .expect("sent");
            let status = res.status().as_u16();
            assert_eq!(status, 201, "a sign-up is created");
            (status, res.json().await.unwrap_or(Value::Null))
        }
        Op::Tick(secs) => {
            m.state()
                .clock
                .advance(chrono::Duration::milliseconds(i64::from(*secs) * 1_357));
            (200, Value::Null)
        }
    };
    assert!(status < 500, "{op:?}: {status} {body}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// After any sequence of writes, the mock's database round-trips through its storage form.
    #[test]
    fn db_after_api_writes_round_trips(ops in proptest::collection::vec(op(), 1..8)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let mock = MockPayt::test().seed(7).start().await;
            let before = mock.state().store.revision();
            let c = Client { m: &mock, http: reqwest::Client::new() };
            for (k, op) in ops.iter().enumerate() {
                apply(&c, k, op).await;
            }
            let db = mock.state().store.snapshot();
            if ops.iter().any(|o| !matches!(o, Op::Tick(_))) {
                prop_assert!(mock.state().store.revision() > before, "the writes reached the store");
            }
            round_trip(&db);
            Ok(())
        })?;
    }
}

/// The whole world (tables, ids, tokens, clock) through the control plane's snapshot, after one
/// write of every kind the proptest above draws from: loaded into another world it exports
/// identically, holds the same records and hands out the same next ids. (A Payt snapshot of the
/// default size takes a while in a debug build, so this runs once rather than per case.)
#[tokio::test]
async fn a_world_snapshot_after_writes_of_every_kind_restores_exactly() {
    let mock = MockPayt::test().seed(7).start().await;
    let c = Client {
        m: &mock,
        http: reqwest::Client::new(),
    };
    let ops = [
        Op::CreateDebtor(1),
        Op::CreateInvoice {
            cents: 12_345,
            paid_cents: 2_000,
        },
        Op::UpdateInvoice(1),
        Op::RegisterPayments(5_000),
        Op::CreatePaymentPlan(1),
        Op::TransitionPlan(1, 1),
        Op::SendMessage(1),
        Op::CommentTask(1),
        Op::CompleteTask(1),
        Op::BlockInvoice(1),
        Op::ResumeInvoice(1),
        Op::UpsertVatRate(2_100),
        Op::CreateMandate(1),
        Op::RevokeMandates(1),
        Op::CreateContact(1),
        Op::Upload(1),
        Op::Subscribe(1),
        Op::CreateInvoice {
            cents: 500,
            paid_cents: 0,
        },
        Op::SignUp(1),
        Op::Tick(30),
    ];
    for (k, op) in ops.iter().enumerate() {
        apply(&c, k, op).await;
    }
    // The dispatcher attempts deliveries in the background: compare a world at rest, every
    // delivery attempted, none under way or due (the mock's clock stands still).
    let start = std::time::Instant::now();
    while !mock.state().store.read(|db| {
        let now = mock.state().now();
        db.webhook_deliveries
            .iter_all()
            .all(|d| !d.in_flight && !d.attempts.is_empty() && d.next_attempt_at.is_none_or(|t| t > now))
    }) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the webhook deliveries never settled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Every model is read back: each table holds records (fixtures or the writes above), so the
    // round trip below covers every stored type, the tombstones, sign-ups and webhooks included.
    let stored = snapshot::to_value(&mock.state().store.snapshot()).expect("serializes");
    let tables = stored.as_object().expect("one member per table");
    let empty: Vec<&String> = tables
        .iter()
        .filter(|(_, rows)| rows.as_array().is_none_or(Vec::is_empty))
        .map(|(name, _)| name)
        .collect();
    assert!(empty.is_empty(), "tables without records: {empty:?}");
    round_trip(&mock.state().store.snapshot());
    let snapshot = mock.snapshot();
    let copy = mock.world("copy").expect("a valid name");
    copy.restore(snapshot.clone()).expect("the export loads");
    let mut again = copy.snapshot();
    again["world"] = snapshot["world"].clone();
    assert!(again == snapshot, "a restored world exports what it was restored from");
    assert_eq!(copy.state().ids.state(), mock.state().ids.state());
    assert_eq!(
        copy.state().store.snapshot().fingerprint(),
        mock.state().store.snapshot().fingerprint()
    );
    assert_eq!(copy.clock().state(), mock.clock().state());
}
