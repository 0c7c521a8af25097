//! Spec checks for invoices, payments, VAT rates, payment conditions, files, orders and order lines.

use base64::Engine;
use mock_payt::MockPayt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::spec::harness::*;

const UPLOADABLE_FILE: &str = "#/components/schemas/CustomerApi_V1_UploadableFileEntity";
const INVOICE_OPT_IN: &[&str] = &[
    "public_url",
    "deeplink_url",
    "flow_code",
    "document_url",
    "ubl_document_url",
    "internal_note_email_address",
    "invoice_lines",
    "labels",
    "peppol_identifier",
];

fn checksum(seed: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([seed; 64])
}

/// Requests every route of the group, success and error cases, through the harness.
pub async fn run(h: &mut Harness, mock: &MockPayt) {
    invoices(h, mock).await;
    invoice_writes(h, mock).await;
    block_and_resume(h, mock).await;
    payments(h).await;
    deleted(h).await;
    vat_rates(h).await;
    payment_conditions(h).await;
    files(h).await;
    orders(h).await;
}

fn invoice_selection(h: &Harness) -> Value {
    selection(
        h.spec.required("CustomerApi_V1_InvoiceEntity"),
        &[
            "public_url",
            "deeplink_url",
            "flow_code",
            "document_url",
            "ubl_document_url",
            "internal_note_email_address",
            "peppol_identifier",
            "active_credit_case_id",
            "debtor_number",
            "sent_at",
        ],
        &[
            ("invoice_lines", h.spec.required("CustomerApi_V1_InvoiceLineEntity")),
            ("labels", h.spec.required("CustomerApi_V1_LabelEntity")),
        ],
    )
}

async fn invoices(h: &mut Harness, mock: &MockPayt) {
    let r = Resource {
        name: "invoices",
        full: invoice_selection(h),
        opt_in: INVOICE_OPT_IN,
        narrow: json!({"only": ["id", "flow_code", {"invoice_lines": ["description", "vat_amount"]}, {"labels": ["name"]}]}),
    };
    let full = list_and_show(h, &r).await;

    // Filters.
    filter(h, "invoices", &full, "paid", "true", |i| i["open_amount"] == "0.00").await;
    filter(h, "invoices", &full, "paid", "false", |i| i["open_amount"] != "0.00").await;
    let amount = |i: &Value| {
        i["book_total_amount"]
            .as_str()
            .unwrap_or("0")
            .parse::<f64>()
            .unwrap_or(0.0)
    };
    filter(h, "invoices", &full, "book_amount_total_lte", "500.5", |i| {
        amount(i) <= 500.5
    })
    .await;
    filter(h, "invoices", &full, "book_amount_total_gte", "2500", |i| {
        amount(i) >= 2500.0
    })
    .await;
    let first = full[0].clone();
    let number = first["invoice_number"].as_str().unwrap_or_default().to_string();
    filter(h, "invoices", &full, "invoice_numbers", &number, |i| {
        i["invoice_number"] == number.as_str()
    })
    .await;
    let with_identifier = full
        .iter()
        .find(|i| i["invoice_identifier"].is_string())
        .cloned()
        .unwrap_or_default();
    let identifier = with_identifier["invoice_identifier"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    filter(h, "invoices", &full, "invoice_identifiers", &identifier, |i| {
        i["invoice_identifier"] == identifier.as_str()
    })
    .await;
    let debtor_id = first["debtor_id"].as_str().unwrap_or_default().to_string();
    filter(h, "invoices", &full, "debtor_ids", &debtor_id, |i| {
        i["debtor_id"] == debtor_id.as_str()
    })
    .await;
    let debtor = mock.state().store.read(|db| {
        db.debtors
            .get(&81, &debtor_id)
            .map(|d| (d.debtor_number.clone(), d.debtor_identifier.clone()))
    });
    let (debtor_number, debtor_identifier) = debtor.expect("the invoice's debtor exists");
    filter(h, "invoices", &full, "debtor_numbers", &debtor_number, |i| {
        i["debtor_id"] == debtor_id.as_str()
    })
    .await;
    filter(h, "invoices", &full, "debtor_identifiers", &debtor_identifier, |i| {
        i["debtor_id"] == debtor_id.as_str()
    })
    .await;
    let case = full
        .iter()
        .find_map(|i| i["active_credit_case_id"].as_str().map(str::to_string))
        .expect("an invoice of 81 is in a credit case");
    filter(h, "invoices", &full, "credit_case_ids", &case, |i| {
        i["active_credit_case_id"] == case.as_str()
    })
    .await;

    // order=..., walked in pages of 40: every invoice exactly once, in the requested order.
    for order in ["invoice_date_asc", "invoice_date_desc", "due_date_asc", "due_date_desc"] {
        let key = if order.starts_with("invoice") {
            "invoice_date"
        } else {
            "due_date"
        };
        let mut seen: Vec<Value> = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..=full.len() / 40 + 1 {
            let mut req = Req::get("/v1/invoices").admin(81).q("per_page", 40).q("order", order);
            if let Some(c) = &next {
                req = req.q("cursor", c);
            }
            let page = h.call(req, 200).await;
            seen.extend(data(&page.body));
            next = cursor(&page.body);
            if next.is_none() {
                break;
            }
        }
        let mut got = ids(&seen);
        let dates: Vec<&str> = seen.iter().map(|i| i[key].as_str().unwrap_or_default()).collect();
        let sorted = dates.windows(2).all(|w| {
            if order.ends_with("asc") {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }
        });
        got.sort();
        let mut want = ids(&full);
        want.sort();
        h.ensure(got == want && sorted && next.is_none(), || {
            format!(
                "order={order}: paging gave {} invoices (sorted: {sorted}), expected {}",
                got.len(),
                want.len()
            )
        });
    }

    // Show by invoice number and identifier.
    for (kind, value) in [("invoice_number", &number), ("invoice_identifier", &identifier)] {
        for prefix in PREFIXES {
            let reply = h
                .call(
                    Req::get(format!("{prefix}/invoices/{value}"))
                        .admin(81)
                        .q("identifier_type", kind),
                    200,
                )
                .await;
            h.ensure(reply.body[kind] == value.as_str(), || {
                format!("identifier_type={kind}: {}", reply.body)
            });
        }
        h.call(
            Req::get("/v1/invoices/NO-SUCH-INVOICE")
                .admin(81)
                .q("identifier_type", kind),
            404,
        )
        .await;
    }
    h.call(
        Req::get(format!("/v1/invoices/{number}"))
            .admin(81)
            .q("identifier_type", "number"),
        400,
    )
    .await;

    // Bad filters.
    for (param, value) in [
        ("paid", "maybe"),
        ("book_amount_total_lte", "lots"),
        ("book_amount_total_gte", "1,5"),
        ("order", "amount_desc"),
    ] {
        h.call(Req::get("/v1/invoices").admin(81).q(param, value), 400).await;
    }
    h.call(
        Req::get("/api/v1/invoices")
            .admin(81)
            .q("order", "due_date_asc")
            .q("cursor", "999999999"),
        400,
    )
    .await;
}

async fn invoice_writes(h: &mut Harness, mock: &MockPayt) {
    let debtor = mock
        .state()
        .store
        .read(|db| db.debtors.iter(&81).next().map(|d| d.debtor_number.clone()))
        .expect("a debtor");
    let invoice = |number: &str| {
        json!({
            "invoice_number": number, "invoice_identifier": format!("ID-{number}"), "currency_code": "EUR",
            "invoice_date": "2026-10-01", "due_date": "2026-10-31", "debtor_number": debtor,
            "amount_total": "1000", "amount_open": "1000", "book_amount_total": "1000", "book_amount_open": "1000",
            "payment_method": "bank_transfer", "labels": ["spec"],
            "invoice_lines": [{"description": "Consultancy", "vat_rate_code": "H21", "total_incl_tax_amount": "1000"}]
        })
    };
    for prefix in PREFIXES {
        let number = format!("SPEC{}", prefix.len());
        let reply = h
            .call(
                Req::post(format!("{prefix}/invoices"))
                    .json(json!({"administration_id": "81", "invoices": [invoice(&number)]})),
                201,
            )
            .await;
        h.ensure(reply.body["count"] == 1, || {
            format!("POST {prefix}/invoices: {}", reply.body)
        });
        let shown = h
            .call(
                Req::get(format!("{prefix}/invoices/{number}"))
                    .admin(81)
                    .q("identifier_type", "invoice_number")
                    .fields(invoice_selection(h)),
                200,
            )
            .await;
        h.ensure(
            shown.body["total_amount"] == "1000.00" && shown.body["invoice_lines"][0]["vat_amount"] == "173.55",
            || format!("the created invoice: {}", shown.body),
        );
    }
    // A form body, Rails style; an unknown debtor is a per-record error keyed by the number (O6).
    let form = format!(
        "administration_id=81&invoices[][invoice_number]=SPECFORM&invoices[][currency_code]=EUR\
         &invoices[][invoice_date]=2026-10-02&invoices[][due_date]=2026-11-01&invoices[][debtor_number]={debtor}\
         &invoices[][amount_total]=50&invoices[][amount_open]=-600&invoices[][book_amount_total]=50\
         &invoices[][book_amount_open]=50"
    );
    h.call(Req::post("/v1/invoices").body(FORM, form), 201).await;
    let mut unknown = invoice("SPECNODEBTOR");
    unknown["debtor_number"] = json!("NO-SUCH-DEBTOR");
    let reply = h
        .call(
            Req::post("/v1/invoices").json(json!({"administration_id": 81, "invoices": [unknown]})),
            201,
        )
        .await;
    h.ensure(
        reply.body["errors"]["SPECNODEBTOR"] == json!(["debtor_not_found"]),
        || format!("unknown debtor: {}", reply.body),
    );

    // PATCH: updates existing invoices only; unknown numbers go into errors.not_found.
    for prefix in PREFIXES {
        let reply = h
            .call(
                Req::new(Method::PATCH, format!("{prefix}/invoices")).json(json!({
                    "administration_id": "81",
                    "invoices": [{"invoice_number": "SPEC3", "amount_open": "400", "description": "patched"},
                                 {"invoice_number": "NOPE-1"}]
                })),
                200,
            )
            .await;
        h.ensure(
            reply.body["errors"]["not_found"] == json!(["NOPE-1"]) && reply.body["count"] == 1,
            || format!("PATCH {prefix}/invoices: {}", reply.body),
        );
    }

    // Request-level errors: nothing is processed.
    let mut missing = invoice("SPECBAD");
    missing.as_object_mut().map(|m| m.remove("due_date"));
    let mut bad_amount = invoice("SPECBAD");
    bad_amount["amount_open"] = json!("ten");
    let mut bad_method = invoice("SPECBAD");
    bad_method["payment_method"] = json!("cheque");
    let mut bad_date = invoice("SPECBAD");
    bad_date["invoice_date"] = json!("01-10-2026");
    let mut bad_payment = invoice("SPECBAD");
    bad_payment["payments"] = json!([{"amount": "10"}]);
    let mut bad_line = invoice("SPECBAD");
    bad_line["invoice_lines"] = json!([{"description": "x", "vat_rate_code": "H21"}]);
    for body in [
        json!({"administration_id": "81", "invoices": [missing]}),
        json!({"administration_id": "81", "invoices": [bad_amount]}),
        json!({"administration_id": "81", "invoices": [bad_method]}),
        json!({"administration_id": "81", "invoices": [bad_date]}),
        json!({"administration_id": "81", "invoices": [bad_payment]}),
        json!({"administration_id": "81", "invoices": [bad_line]}),
        json!({"administration_id": "81", "invoices": "nope"}),
        json!({"administration_id": "81"}),
        json!({"invoices": [invoice("SPECBAD")]}),
    ] {
        h.call(Req::post("/v1/invoices").json(body), 422).await;
    }
    h.call(
        Req::new(Method::PATCH, "/api/v1/invoices")
            .json(json!({"administration_id": "81", "invoices": [{"amount_open": "1"}]})),
        422,
    )
    .await;
    h.call(Req::post("/v1/invoices").body(JSON, "{\"administration_id\": "), 422)
        .await;
    h.ensure(
        mock.state()
            .store
            .read(|db| !db.invoices.iter(&81).any(|i| i.invoice_number == "SPECBAD")),
        || "a rejected request created an invoice".to_string(),
    );
    h.call(
        Req::post("/v1/invoices").json(json!({"administration_id": "83", "invoices": [invoice("X")]})),
        403,
    )
    .await;
    h.call(
        Req::new(Method::PATCH, "/v1/invoices")
            .json(json!({"administration_id": "83", "invoices": [{"invoice_number": "X"}]})),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/invoices")
            .auth(Auth::Missing)
            .json(json!({"administration_id": "81", "invoices": []})),
        401,
    )
    .await;
    h.call(
        Req::new(Method::PATCH, "/api/v1/invoices")
            .auth(Auth::Header("Bearer wrong-token"))
            .json(json!({"administration_id": "81", "invoices": []})),
        401,
    )
    .await;
    h.call(Req::new(Method::PUT, "/v1/invoices").admin(81), 405).await;
    h.call(Req::new(Method::POST, "/v1/invoices/block"), 405).await;
}

async fn flow_code(h: &mut Harness, number: &str) -> Value {
    let req = Req::get(format!("/v1/invoices/{number}"))
        .admin(81)
        .q("identifier_type", "invoice_number")
        .fields(json!({"only": ["id", "flow_code"]}));
    h.call(req, 200).await.body["flow_code"].clone()
}

async fn block_and_resume(h: &mut Harness, mock: &MockPayt) {
    let (number, identifier) = mock
        .state()
        .store
        .read(|db| {
            db.invoices
                .iter(&81)
                .find(|i| i.invoice_identifier.is_some() && !i.blocked_via_api)
                .map(|i| {
                    (
                        i.invoice_number.to_string(),
                        i.invoice_identifier.clone().unwrap_or_default(),
                    )
                })
        })
        .expect("an unblocked invoice with an identifier");
    for (action, prefix, expect) in [("block", "/v1", "blocked"), ("resume", "/api/v1", "")] {
        let reply = h
            .call(
                Req::new(Method::PATCH, format!("{prefix}/invoices/{action}")).body(
                    FORM,
                    format!("administration_id=81&invoice_numbers[]={number}&invoice_numbers[]=NOPE-2"),
                ),
                200,
            )
            .await;
        h.ensure(
            reply.body["count"] == 1 && reply.body["errors"]["not_found"] == json!(["NOPE-2"]),
            || format!("{action}: {}", reply.body),
        );
        let code = flow_code(h, &number).await;
        h.ensure(
            if expect.is_empty() {
                code != "blocked"
            } else {
                code == expect
            },
            || format!("after {action} flow_code is {code}"),
        );
    }
    // JSON body and identifiers; resuming what is not blocked through the API is a warning.
    h.call(
        Req::new(Method::PATCH, "/v1/invoices/block")
            .json(json!({"administration_id": 81, "invoice_identifiers": [identifier]})),
        200,
    )
    .await;
    let reply = h
        .call(
            Req::new(Method::PATCH, "/v1/invoices/resume").json(json!({"administration_id": 81, "invoice_numbers": [number], "invoice_identifiers": [identifier], "fields": "{\"only\": [\"id\"]}"})),
            200,
        )
        .await;
    h.ensure(reply.body["count"] == 1, || {
        format!("resume twice-named: {}", reply.body)
    });
    let reply = h
        .call(
            Req::new(Method::PATCH, "/v1/invoices/resume")
                .json(json!({"administration_id": 81, "invoice_numbers": [number]})),
            200,
        )
        .await;
    h.ensure(
        reply.body["warnings"][&number] == json!(["not_blocked_through_api"]),
        || format!("resume of an unblocked invoice: {}", reply.body),
    );
    let many: Vec<String> = (0..1001).map(|n| format!("N{n}")).collect();
    for action in ["block", "resume"] {
        for body in [
            json!({"administration_id": 81}),
            json!({"administration_id": 81, "invoice_numbers": many}),
            json!({"administration_id": 81, "invoice_numbers": "x"}),
            json!({"invoice_numbers": [number]}),
        ] {
            h.call(
                Req::new(Method::PATCH, format!("/v1/invoices/{action}")).json(body),
                422,
            )
            .await;
        }
        h.call(
            Req::new(Method::PATCH, format!("/v1/invoices/{action}"))
                .json(json!({"administration_id": 83, "invoice_numbers": [number]})),
            403,
        )
        .await;
        h.call(
            Req::new(Method::PATCH, format!("/api/v1/invoices/{action}"))
                .auth(Auth::Missing)
                .json(json!({"administration_id": 81, "invoice_numbers": [number]})),
            401,
        )
        .await;
        h.call(Req::get(format!("/v1/invoices/{action}")).admin(81), 404).await;
    }
}

/// The list part of [`list_and_show`] for routes without a show route.
async fn list_only(h: &mut Harness, name: &str, full_sel: Value, opt_in: &[&str], narrow: Value) -> Vec<Value> {
    let mut all = Vec::new();
    for prefix in PREFIXES {
        let reply = h
            .call(Req::get(format!("{prefix}/{name}")).admin(81).q("per_page", 500), 200)
            .await;
        all.push(data(&reply.body));
    }
    let full = all.swap_remove(0);
    h.ensure(full == all[0] && full.len() >= 6, || {
        format!("{name}: the lists differ or are short")
    });
    let full_ids = ids(&full);
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..=full.len() / 7 + 1 {
        let mut req = Req::get(format!("/v1/{name}")).admin(81).q("per_page", 7);
        if let Some(c) = &next {
            req = req.q("cursor", c);
        }
        let page = h.call(req, 200).await;
        seen.extend(ids(&data(&page.body)));
        next = cursor(&page.body);
        if next.is_none() {
            break;
        }
    }
    h.ensure(seen == full_ids, || {
        format!("{name}: paging by 7 differs from the full list")
    });
    let wanted = [full_ids[1].clone(), full_ids[4].clone()];
    filter(h, name, &full, "ids", &wanted.join(","), |r| {
        wanted.contains(&r["id"].as_str().unwrap_or_default().to_string())
    })
    .await;
    let mut stamps: Vec<&str> = full
        .iter()
        .map(|i| i["updated_at"].as_str().unwrap_or_default())
        .collect();
    stamps.sort_unstable();
    let after = stamps[stamps.len() / 2].to_string();
    filter(h, name, &full, "updated_after", &after, |r| {
        r["updated_at"].as_str().unwrap_or_default() > after.as_str()
    })
    .await;
    let reply = h
        .call(
            Req::get(format!("/v1/{name}"))
                .admin(81)
                .q("per_page", 5)
                .fields(full_sel),
            200,
        )
        .await;
    for item in data(&reply.body) {
        h.ensure(opt_in.iter().all(|p| item.get(*p).is_some()), || {
            format!("{name}: opt-in missing: {item}")
        });
    }
    h.call(Req::get(format!("/api/v1/{name}")).admin(81).fields(narrow), 200)
        .await;
    h.call(Req::get(format!("/v1/{name}")).admin(83), 403).await;
    h.call(Req::get(format!("/v1/{name}")), 400).await;
    for (param, value) in [
        ("per_page", "0"),
        ("per_page", "501"),
        ("cursor", "x"),
        ("updated_after", "soon"),
        ("fields", "{"),
    ] {
        h.call(Req::get(format!("/v1/{name}")).admin(81).q(param, value), 400)
            .await;
    }
    h.call(Req::get(format!("/v1/{name}")).admin(81).auth(Auth::Missing), 401)
        .await;
    h.call(
        Req::get(format!("/api/v1/{name}"))
            .admin(81)
            .auth(Auth::Header("Bearer nope")),
        401,
    )
    .await;
    full
}

async fn payments(h: &mut Harness) {
    let full_sel = selection(
        h.spec.required("CustomerApi_V1_PaymentEntity"),
        &["cost_type", "transaction_type", "psp_transaction"],
        &[(
            "bank_transaction",
            h.spec.required("CustomerApi_V1_BankTransactionEntity"),
        )],
    );
    let full = list_only(
        h,
        "payments",
        full_sel,
        &["psp_transaction", "bank_transaction"],
        json!({"only": ["id", {"bank_transaction": ["id", "book_date"]}]}),
    )
    .await;
    let invoice_id = full[0]["invoice_id"].as_str().unwrap_or_default().to_string();
    let invoice = h
        .call(Req::get(format!("/v1/invoices/{invoice_id}")).admin(81), 200)
        .await
        .body;
    let number = invoice["invoice_number"].as_str().unwrap_or_default().to_string();
    filter(h, "payments", &full, "invoice_numbers", &number, |p| {
        p["invoice_id"] == invoice_id.as_str()
    })
    .await;
    // A paid invoice in a credit case, for the case filters.
    let in_case = h.call(Req::get("/v1/invoices").admin(81).q("per_page", 500), 200).await;
    let paid_ids: Vec<String> = full
        .iter()
        .map(|p| p["invoice_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let with_case: Vec<Value> = data(&in_case.body)
        .into_iter()
        .filter(|i| {
            i["active_credit_case_id"].is_string()
                && paid_ids.contains(&i["id"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    if let Some(inv) = with_case.first() {
        let case_id = inv["active_credit_case_id"].as_str().unwrap_or_default().to_string();
        let case_invoices: Vec<String> = data(&in_case.body)
            .iter()
            .filter(|i| i["active_credit_case_id"] == case_id.as_str())
            .map(|i| i["id"].as_str().unwrap_or_default().to_string())
            .collect();
        filter(h, "payments", &full, "credit_case_ids", &case_id, |p| {
            case_invoices.contains(&p["invoice_id"].as_str().unwrap_or_default().to_string())
        })
        .await;
        let case = h
            .call(Req::get(format!("/v1/credit_cases/{case_id}")).admin(81), 200)
            .await
            .body;
        let case_number = case["credit_case_number"].as_str().unwrap_or_default().to_string();
        filter(h, "payments", &full, "credit_case_numbers", &case_number, |p| {
            case_invoices.contains(&p["invoice_id"].as_str().unwrap_or_default().to_string())
        })
        .await;
    }
    let identified = data(&in_case.body)
        .into_iter()
        .find(|i| {
            i["invoice_identifier"].is_string() && paid_ids.contains(&i["id"].as_str().unwrap_or_default().to_string())
        })
        .expect("a paid invoice with an identifier");
    let identifier = identified["invoice_identifier"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let iid = identified["id"].clone();
    filter(h, "payments", &full, "invoice_identifiers", &identifier, |p| {
        p["invoice_id"] == iid
    })
    .await;

    // O5: the live API answers 405 to POST and PUT /v1/payments.
    for prefix in PREFIXES {
        h.call(
            Req::post(format!("{prefix}/payments")).json(json!({"administration_id": 81})),
            405,
        )
        .await;
        h.call(
            Req::new(Method::PUT, format!("{prefix}/payments")).json(json!({"administration_id": 81})),
            405,
        )
        .await;
    }
}

async fn deleted(h: &mut Harness) {
    for name in ["invoices", "payments"] {
        for prefix in PREFIXES {
            let reply = h
                .call(
                    Req::get(format!("{prefix}/{name}/deleted"))
                        .admin(81)
                        .q("deleted_after", "2026-08-01T00:00:00Z"),
                    200,
                )
                .await;
            h.ensure(data(&reply.body).len() >= 4, || {
                format!("{prefix}/{name}/deleted: {}", reply.body)
            });
        }
        let first = h
            .call(
                Req::get(format!("/v1/{name}/deleted"))
                    .admin(81)
                    .q("deleted_after", "2026-08-01")
                    .q("per_page", 2),
                200,
            )
            .await;
        let c = cursor(&first.body).unwrap_or_default();
        h.call(
            Req::get(format!("/v1/{name}/deleted"))
                .admin(81)
                .q("deleted_after", "2026-08-01")
                .q("cursor", c),
            200,
        )
        .await;
        h.call(
            Req::get(format!("/v1/{name}/deleted"))
                .admin(81)
                .q("deleted_after", "2026-08-01")
                .q("deleted_before", "2026-10-01"),
            200,
        )
        .await;
        h.call(Req::get(format!("/v1/{name}/deleted")).admin(81), 400).await;
        h.call(
            Req::get(format!("/v1/{name}/deleted"))
                .admin(81)
                .q("deleted_after", "last week"),
            400,
        )
        .await;
        h.call(
            Req::get(format!("/v1/{name}/deleted")).q("deleted_after", "2026-08-01"),
            400,
        )
        .await;
        h.call(
            Req::get(format!("/v1/{name}/deleted"))
                .admin(83)
                .q("deleted_after", "2026-08-01"),
            403,
        )
        .await;
        h.call(
            Req::get(format!("/api/v1/{name}/deleted"))
                .admin(81)
                .q("deleted_after", "2026-08-01")
                .auth(Auth::Missing),
            401,
        )
        .await;
        h.call(Req::new(Method::DELETE, format!("/v1/{name}/deleted")).admin(81), 405)
            .await;
    }
}

async fn vat_rates(h: &mut Harness) {
    for prefix in PREFIXES {
        let reply = h.call(Req::get(format!("{prefix}/vat_rates")).admin(81), 200).await;
        h.ensure(data(&reply.body).len() >= 8, || format!("vat rates: {}", reply.body));
    }
    let first = h.call(Req::get("/v1/vat_rates").admin(81).q("per_page", 3), 200).await;
    let c = cursor(&first.body).unwrap_or_default();
    h.call(
        Req::get("/api/v1/vat_rates").admin(81).q("per_page", 3).q("cursor", c),
        200,
    )
    .await;
    let reply = h
        .call(
            Req::post("/v1/vat_rates").json(json!({"administration_id": "81", "vat_rates": [
                {"code": "SPEC5", "rate": "5", "name": "Spec 5%"},
                {"code": "H21", "name": "Hoog tarief"},
                {"code": "SPECNEW"}
            ]})),
            201,
        )
        .await;
    h.ensure(
        reply.body["count"] == 2 && reply.body["errors"]["SPECNEW"].is_array(),
        || format!("vat rate upsert: {}", reply.body),
    );
    h.call(
        Req::post("/api/v1/vat_rates").body(FORM, "administration_id=81&vat_rates[][code]=SPEC0&vat_rates[][rate]=0&vat_rates[][name]=Nul&vat_rates[][category]=zero"),
        201,
    )
    .await;
    for body in [
        json!({"administration_id": "81", "vat_rates": [{"code": "X", "rate": "21", "name": "x", "category": "luxury"}]}),
        json!({"administration_id": "81", "vat_rates": [{"code": "X", "rate": "lots", "name": "x"}]}),
        json!({"administration_id": "81", "vat_rates": [{"code": "X", "rate": "120", "name": "x"}]}),
        json!({"administration_id": "81", "vat_rates": [{"rate": "21", "name": "x"}]}),
        json!({"administration_id": "81"}),
    ] {
        h.call(Req::post("/v1/vat_rates").json(body), 422).await;
    }
    h.call(
        Req::post("/v1/vat_rates").json(json!({"administration_id": "83", "vat_rates": []})),
        403,
    )
    .await;
    h.call(Req::get("/v1/vat_rates").admin(83), 403).await;
    h.call(Req::get("/v1/vat_rates").admin(81).auth(Auth::Missing), 401)
        .await;
    h.call(Req::post("/v1/vat_rates").auth(Auth::Missing).json(json!({})), 401)
        .await;
    h.call(Req::get("/v1/vat_rates"), 400).await;
    h.call(Req::get("/v1/vat_rates").admin(81).q("per_page", 0), 400).await;
    h.call(Req::new(Method::PUT, "/v1/vat_rates").admin(81), 405).await;
}

async fn payment_conditions(h: &mut Harness) {
    for prefix in PREFIXES {
        let reply = h
            .call(
                Req::post(format!("{prefix}/payment_conditions")).json(
                    json!({"administration_id": "81", "payment_conditions": [
                        {"code": "SPEC10", "name": "Binnen 10 dagen"}, {"code": "30D", "name": "Netto 30 dagen"}
                    ]}),
                ),
                201,
            )
            .await;
        h.ensure(reply.body["count"] == 2, || {
            format!("payment conditions: {}", reply.body)
        });
    }
    h.call(
        Req::post("/v1/payment_conditions").body(
            FORM,
            "administration_id=81&payment_conditions[][code]=F1&payment_conditions[][name]=Form",
        ),
        201,
    )
    .await;
    for body in [
        json!({"administration_id": "81", "payment_conditions": [{"code": "X"}]}),
        json!({"administration_id": "81", "payment_conditions": [{"name": "X"}]}),
        json!({"administration_id": "81", "payment_conditions": 3}),
        json!({"payment_conditions": []}),
    ] {
        h.call(Req::post("/v1/payment_conditions").json(body), 422).await;
    }
    h.call(
        Req::post("/v1/payment_conditions").json(json!({"administration_id": "83", "payment_conditions": []})),
        403,
    )
    .await;
    h.call(
        Req::post("/api/v1/payment_conditions")
            .auth(Auth::Missing)
            .json(json!({})),
        401,
    )
    .await;
    h.call(Req::get("/v1/payment_conditions").admin(81), 405).await;
}

/// `POST /v1/files` with a 201: the live API answers an ARRAY of UploadableFileEntity (O4, where the
/// spec says one object), so `h.call` would reject it; the status is asserted here and every item
/// is validated against the spec's `CustomerApi_V1_UploadableFileEntity`.
async fn post_files(h: &mut Harness, path: &str, body: Value) -> Vec<Value> {
    let res = h
        .http
        .post(format!("{}{path}", h.base))
        .bearer_auth(&h.token)
        .json(&body)
        .send()
        .await
        .expect("the mock answers");
    let status = res.status().as_u16();
    let reply: Value = res.json().await.unwrap_or(Value::Null);
    coverage()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(("post".into(), "/v1/files".into(), status));
    h.checked += 1;
    h.ensure(status == 201, || {
        format!("POST {path} {body}: status {status}: {reply}")
    });
    let items = reply.as_array().cloned();
    h.ensure(items.is_some(), || {
        format!("POST {path}: O4 says an array, got {reply}")
    });
    for item in items.clone().unwrap_or_default() {
        for leaf in h.spec.errors(UPLOADABLE_FILE, &item) {
            h.fail(format!(
                "POST {path}: item {item}: at {:?}: {}",
                leaf.instance_path, leaf.message
            ));
        }
    }
    items.unwrap_or_default()
}

async fn files(h: &mut Harness) {
    let file = |seed: u8| json!({"byte_size": 1024, "checksum": checksum(seed), "content_type": "application/pdf"});
    let created = post_files(
        h,
        "/v1/files",
        json!({"administration_id": "81", "files": [file(1), file(2)]}),
    )
    .await;
    h.ensure(created.len() == 2, || format!("two new files: {created:?}"));
    // Until its bytes arrive, a file is not known: a repeated POST hands out a fresh slot.
    let again = post_files(h, "/api/v1/files", json!({"administration_id": 81, "files": [file(1)]})).await;
    h.ensure(again.len() == 1, || {
        format!("a checksum whose bytes never arrived gets a fresh slot: {again:?}")
    });
    // Once the bytes are PUT to the url, the checksum is known: [].
    let content = b"%PDF-1.4\n% spec\n%%EOF\n".to_vec();
    let real = json!({"byte_size": content.len(), "checksum": mock_payt::storage::checksum(&content), "content_type": "application/pdf"});
    let slot = post_files(
        h,
        "/v1/files",
        json!({"administration_id": "81", "files": [real.clone()]}),
    )
    .await;
    let url = slot
        .first()
        .and_then(|f| f["url"].as_str())
        .unwrap_or_default()
        .to_string();
    let put = h.http.put(&url).body(content).send().await.map(|r| r.status().as_u16());
    h.ensure(put.as_ref().is_ok_and(|s| *s == 200), || format!("PUT {url}: {put:?}"));
    let known = post_files(h, "/api/v1/files", json!({"administration_id": 81, "files": [real]})).await;
    h.ensure(known.is_empty(), || {
        format!("a known checksum must answer []: {known:?}")
    });
    let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
    for f in [
        json!({"byte_size": 10, "checksum": short, "content_type": "application/pdf"}),
        json!({"byte_size": 10, "checksum": "%%%", "content_type": "application/pdf"}),
        json!({"byte_size": 0, "checksum": checksum(3), "content_type": "application/pdf"}),
        json!({"byte_size": 10, "checksum": checksum(3), "content_type": "pdf"}),
        json!({"checksum": checksum(3), "content_type": "application/pdf"}),
        json!({"byte_size": 10, "content_type": "application/pdf"}),
    ] {
        h.call(
            Req::post("/v1/files").json(json!({"administration_id": "81", "files": [f]})),
            422,
        )
        .await;
    }
    h.call(Req::post("/v1/files").json(json!({"administration_id": "81"})), 422)
        .await;
    h.call(
        Req::post("/v1/files").json(json!({"administration_id": "83", "files": [file(4)]})),
        403,
    )
    .await;
    h.call(Req::post("/api/v1/files").auth(Auth::Missing).json(json!({})), 401)
        .await;
    h.call(Req::get("/v1/files").admin(81), 405).await;
}

const MULTIPART: &str = "multipart/form-data; boundary=SPECBOUNDARY";

fn multipart(admin: &str, file: Option<&str>) -> String {
    let mut out =
        format!("--SPECBOUNDARY\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n{admin}\r\n");
    if let Some(f) = file {
        out += &format!(
            "--SPECBOUNDARY\r\nContent-Disposition: form-data; name=\"order[file]\"; filename=\"order.csv\"\r\nContent-Type: text/csv\r\n\r\n{f}\r\n"
        );
    }
    out + "--SPECBOUNDARY--\r\n"
}

async fn orders(h: &mut Harness) {
    for (prefix, n) in [("/v1", 1), ("/api/v1", 2)] {
        let csv =
            format!("order_line_identifier,amount,invoice_identifier\nSPEC-OL-{n}a,12.50,INV-1\nSPEC-OL-{n}b,7,\n");
        let reply = h
            .call(
                Req::post(format!("{prefix}/orders")).body(MULTIPART, multipart("81", Some(&csv))),
                201,
            )
            .await;
        h.ensure(reply.body["deeplink_url"].is_string(), || {
            format!("order: {}", reply.body)
        });
    }
    h.call(Req::post("/v1/orders").body(MULTIPART, multipart("81", None)), 422)
        .await;
    h.call(Req::post("/v1/orders").body(MULTIPART, multipart("81", Some(""))), 422)
        .await;
    h.call(
        Req::post("/v1/orders").body(MULTIPART, multipart("81", Some("SPEC-OL-1a,3.00"))),
        422,
    )
    .await;
    h.call(
        Req::post("/v1/orders").body(MULTIPART, multipart("", Some("X-1,3.00"))),
        422,
    )
    .await;
    h.call(
        Req::post("/v1/orders").body(MULTIPART, multipart("83", Some("X-1,3.00"))),
        403,
    )
    .await;
    h.call(
        Req::post("/v1/orders").body(FORM, "administration_id=81&order[file]=FORM-1%2C4.00"),
        201,
    )
    .await;
    h.call(
        Req::post("/api/v1/orders")
            .auth(Auth::Missing)
            .body(MULTIPART, multipart("81", Some("X,1"))),
        401,
    )
    .await;
    h.call(Req::get("/v1/orders").admin(81), 405).await;

    let full_sel = selection(
        h.spec.required("CustomerApi_V1_OrderLineEntity"),
        &[
            "deeplink_url",
            "product_identifier",
            "claim_response_codes",
            "invoice_identifier",
        ],
        &[("customer", vec!["email_address".to_string()])],
    );
    let full = list_only(
        h,
        "order_lines",
        full_sel,
        &["deeplink_url", "customer", "product_identifier"],
        json!({"only": ["id", "claim_status", {"customer": ["email_address"]}]}),
    )
    .await;
    let status = full[0]["claim_status"].as_str().unwrap_or_default().to_string();
    filter(h, "order_lines", &full, "claim_status", &status, |l| {
        l["claim_status"] == status.as_str()
    })
    .await;
    let ident = full[2]["order_line_identifier"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    filter(h, "order_lines", &full, "order_line_identifiers", &ident, |l| {
        l["order_line_identifier"] == ident.as_str()
    })
    .await;
    filter(h, "order_lines", &full, "invoice_identifiers", "INV-1", |l| {
        l["invoice_identifier"] == "INV-1"
    })
    .await;
    let mut created: Vec<&str> = full
        .iter()
        .map(|l| l["created_at"].as_str().unwrap_or_default())
        .collect();
    created.sort_unstable();
    let mid = created[created.len() / 2].to_string();
    filter(h, "order_lines", &full, "created_after", &mid, |l| {
        l["created_at"].as_str().unwrap_or_default() > mid.as_str()
    })
    .await;
    filter(h, "order_lines", &full, "created_before", &mid, |l| {
        l["created_at"].as_str().unwrap_or_default() < mid.as_str()
    })
    .await;
    h.call(Req::get("/v1/order_lines").admin(81).q("claim_status", "done"), 400)
        .await;
    h.call(Req::get("/v1/order_lines").admin(81).q("created_after", "someday"), 400)
        .await;
    h.call(Req::get("/v1/order_lines").admin(81).q("created_before", "x"), 400)
        .await;
}
