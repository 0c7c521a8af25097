//! Payt's upload flow against the mock's own storage, and the rule behind it: no URL the mock
//! hands out leaves the mock's address.
//!
//! The flow (`reference/payt.md` 3.2): `POST /v1/files` registers a file by SHA3-512 checksum,
//! byte size and content type and answers a signed `url`; the client PUTs the bytes there before
//! `expires_at`; an invoice then references the checksum in `document`; its opt-in `document_url`
//! serves the bytes.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use chrono::Duration;
use mock_core::Clock;
use mock_payt::{MockPayt, PaytBuilder};
use serde_json::{Value, json};
use sha3::{Digest, Sha3_512};

/// A small but complete PDF.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n";

fn sha3_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha3_512::digest(bytes))
}

struct Api {
    m: MockPayt,
    http: reqwest::Client,
}

impl Api {
    async fn start(builder: mock_payt::MockPaytBuilder) -> Self {
        Self {
            m: builder.start().await,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.m.uri())
    }

    async fn json(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let res = rb.bearer_auth(self.m.token()).send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `POST /v1/files` for `content` registered with `byte_size`; the answer.
    async fn register(&self, content: &[u8], byte_size: usize) -> Vec<Value> {
        let body = json!({"administration_id": "81", "files": [
            {"checksum": sha3_base64(content), "byte_size": byte_size, "content_type": "application/pdf"}
        ]});
        let (s, b) = self.json(self.http.post(self.url("/v1/files")).json(&body)).await;
        assert_eq!(s, 201, "{b}");
        b.as_array().cloned().expect("an array (O4)")
    }

    /// PUTs `bytes` to `url` as a direct-upload client does (no token: the url is signed).
    async fn put(&self, url: &str, bytes: &[u8]) -> (u16, reqwest::header::HeaderMap, String) {
        let res = self
            .http
            .put(url)
            .header("content-type", "application/pdf")
            .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
            .header("x-amz-meta-origin", "uploads-test")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.expect("a body"))
    }

    async fn invoice_number(&self) -> String {
        let (s, b) = self
            .json(
                self.http
                    .get(self.url("/v1/invoices"))
                    .query(&[("administration_id", "81"), ("per_page", "1")]),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["data"][0]["invoice_number"].as_str().expect("an invoice").to_string()
    }

    async fn attach(&self, number: &str, checksum: &str) -> Value {
        let body = json!({"administration_id": "81", "invoices": [
            {"invoice_number": number, "document": {"checksum": checksum, "filename": "factuur 2026-001.pdf"}}
        ]});
        let (s, b) = self.json(self.http.patch(self.url("/v1/invoices")).json(&body)).await;
        assert_eq!(s, 200, "{b}");
        b
    }

    async fn document_url(&self, number: &str) -> Value {
        let (s, b) = self
            .json(self.http.get(self.url(&format!("/v1/invoices/{number}"))).query(&[
                ("administration_id", "81"),
                ("identifier_type", "invoice_number"),
                ("fields", r#"{"only":["id","document_url"]}"#),
            ]))
            .await;
        assert_eq!(s, 200, "{b}");
        b["document_url"].clone()
    }
}

fn s3_code(body: &str) -> &str {
    body.split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or("")
}

#[tokio::test]
async fn the_documented_flow_stores_the_bytes_and_serves_them_back() {
    let api = Api::start(MockPayt::test()).await;
    let checksum = sha3_base64(PDF);

    // Register: one slot, its url on the mock's own address.
    let slots = api.register(PDF, PDF.len()).await;
    assert_eq!(slots.len(), 1, "{slots:?}");
    assert_eq!(slots[0]["checksum"], checksum.as_str());
    let url = slots[0]["url"].as_str().expect("a url");
    assert!(
        url.starts_with(&format!("{}/_mock/payt/storage/", api.m.uri())),
        "{url}"
    );

    // PUT the bytes: 200 with an ETag.
    let (s, headers, body) = api.put(url, PDF).await;
    assert_eq!(s, 200, "{body}");
    assert!(headers.get("etag").is_some(), "{headers:?}");

    // The file is known now: a repeated POST answers [] (also under /api/v1).
    assert!(api.register(PDF, PDF.len()).await.is_empty());
    let again = json!({"administration_id": 81, "files": [{"checksum": checksum, "byte_size": PDF.len(), "content_type": "application/pdf"}]});
    let (s, b) = api.json(api.http.post(api.url("/api/v1/files")).json(&again)).await;
    assert_eq!((s, b), (201, json!([])));

    // Attach it to an invoice and read it back where Payt exposes it.
    let number = api.invoice_number().await;
    let out = api.attach(&number, &checksum).await;
    assert_eq!(out["count"], 1, "{out}");
    assert_eq!(out["errors"], json!({}), "{out}");
    let doc_url = api.document_url(&number).await;
    let doc_url = doc_url.as_str().expect("a document_url");
    assert!(
        doc_url.starts_with(&format!("{}/_mock/payt/", api.m.uri())),
        "{doc_url}"
    );
    let res = api.http.get(doc_url).send().await.expect("sent");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        disposition.starts_with("inline; filename=\"factuur 2026-001.pdf\""),
        "{disposition}"
    );
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), PDF);
}

#[tokio::test]
async fn a_wrong_checksum_or_size_is_refused_like_an_object_store_and_stores_nothing() {
    let api = Api::start(MockPayt::test()).await;
    let checksum = sha3_base64(PDF);
    let slots = api.register(PDF, PDF.len()).await;
    let url = slots[0]["url"].as_str().expect("a url").to_string();

    // Same size, other bytes: BadDigest.
    let mut other = PDF.to_vec();
    other[10] ^= 0x20;
    let (s, headers, body) = api.put(&url, &other).await;
    assert_eq!((s, s3_code(&body)), (400, "BadDigest"), "{body}");
    assert_eq!(headers["content-type"], "application/xml");
    assert!(
        body.starts_with("<?xml") && body.contains("<Error>") && body.contains("<Message>"),
        "{body}"
    );
    let request_id = body
        .split("<RequestId>")
        .nth(1)
        .and_then(|r| r.split("</RequestId>").next())
        .unwrap_or_default();
    assert!(!request_id.is_empty(), "{body}");
    assert_eq!(headers["x-request-id"], request_id);

    // One byte too many or too few.
    let (s, _, body) = api.put(&url, &[PDF, b"\n"].concat()).await;
    assert_eq!((s, s3_code(&body)), (400, "EntityTooLarge"), "{body}");
    let (s, _, body) = api.put(&url, &PDF[..PDF.len() - 1]).await;
    assert_eq!((s, s3_code(&body)), (400, "EntityTooSmall"), "{body}");

    // Nothing was stored: not known (a fresh slot), and attaching is a per-record error.
    assert_eq!(api.register(PDF, PDF.len()).await.len(), 1);
    let number = api.invoice_number().await;
    let out = api.attach(&number, &checksum).await;
    assert_eq!(
        out["errors"],
        json!({ number.clone(): ["document_not_uploaded"] }),
        "{out}"
    );

    // A slot registered with the wrong size refuses the right bytes.
    let wrong = api.register(PDF, PDF.len() + 5).await;
    let (s, _, body) = api.put(wrong[0]["url"].as_str().expect("a url"), PDF).await;
    assert_eq!((s, s3_code(&body)), (400, "EntityTooSmall"), "{body}");

    // The first slot still takes the right bytes.
    let (s, _, body) = api.put(&url, PDF).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(api.attach(&number, &checksum).await["errors"], json!({}));
}

#[tokio::test]
async fn an_expired_unknown_or_altered_url_is_refused() {
    let clock = Clock::frozen(mock_core::testing::epoch());
    let api = Api::start(MockPayt::test().clock(clock.clone())).await;
    let slots = api.register(PDF, PDF.len()).await;
    let url = slots[0]["url"].as_str().expect("a url").to_string();

    // Someone else's signature, or none.
    let altered = url.replace("X-Payt-Signature=", "X-Payt-Signature=0");
    let (s, _, body) = api.put(&altered, PDF).await;
    assert_eq!((s, s3_code(&body)), (403, "SignatureDoesNotMatch"), "{body}");
    let bare = url.split('?').next().unwrap_or_default();
    let (s, _, body) = api.put(bare, PDF).await;
    assert_eq!((s, s3_code(&body)), (403, "AccessDenied"), "{body}");

    // An unknown slot.
    let (s, _, body) = api
        .put(&format!("{}/_mock/payt/storage/uploads/999999999", api.m.uri()), PDF)
        .await;
    assert_eq!((s, s3_code(&body)), (404, "NoSuchUpload"), "{body}");

    // Past expires_at on the mock's clock.
    clock.advance(Duration::minutes(61));
    let (s, _, body) = api.put(&url, PDF).await;
    assert_eq!((s, s3_code(&body)), (403, "AccessDenied"), "{body}");
    assert!(body.contains("<Message>Request has expired</Message>"), "{body}");

    // Nothing stored: a new POST hands out a fresh slot, which works.
    let fresh = api.register(PDF, PDF.len()).await;
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0]["url"], url.as_str());
    let (s, _, body) = api.put(fresh[0]["url"].as_str().expect("a url"), PDF).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn attaching_a_file_whose_bytes_never_arrived_is_a_per_record_error() {
    let api = Api::start(MockPayt::test()).await;
    let checksum = sha3_base64(PDF);
    let number = api.invoice_number().await;
    // Never registered at all.
    let out = api.attach(&number, &checksum).await;
    assert_eq!(
        out["errors"],
        json!({ number.clone(): ["document_not_found"] }),
        "{out}"
    );
    // Registered, not uploaded: a fresh slot on each POST, and the attach fails.
    let first = api.register(PDF, PDF.len()).await;
    let second = api.register(PDF, PDF.len()).await;
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_ne!(first[0]["url"], second[0]["url"]);
    let out = api.attach(&number, &checksum).await;
    assert_eq!(
        out,
        json!({"success": false, "count": 0, "errors": { number.clone(): ["document_not_uploaded"] }})
    );
    assert_eq!(api.document_url(&number).await, Value::Null);
    // Either slot may take the bytes.
    let (s, _, body) = api.put(first[0]["url"].as_str().expect("a url"), PDF).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(api.attach(&number, &checksum).await["count"], 1);
}

// ------------------------------------------------------------------------------------------------
// No URL leaves the mock

/// Every list endpoint of the Payt mock with the opt-in properties of its entity.
const LISTS: &[(&str, &[&str])] = &[
    ("/administrations", mock_payt::resources::administrations::OPT_IN),
    ("/contacts", mock_payt::resources::contacts::OPT_IN),
    ("/credit_cases", mock_payt::resources::credit_cases::OPT_IN),
    ("/debtors", mock_payt::resources::debtors::OPT_IN),
    ("/invoices", mock_payt::resources::invoices::OPT_IN),
    ("/messages", mock_payt::resources::messages::OPT_IN),
    ("/notes", mock_payt::resources::notes::OPT_IN),
    ("/notifications", mock_payt::resources::notifications::OPT_IN),
    ("/order_lines", mock_payt::resources::orders::OPT_IN),
    ("/payment_plans", mock_payt::resources::payment_plans::OPT_IN),
    ("/payments", mock_payt::resources::payments::OPT_IN),
    ("/psp_mandates", mock_payt::resources::psp_mandates::OPT_IN),
    ("/psp_transactions", mock_payt::resources::psp_transactions::OPT_IN),
    ("/tasks", mock_payt::resources::tasks::OPT_IN),
    ("/vat_rates", &[]),
];
const DELETED: &[&str] = &["invoices", "payments", "credit_cases", "payment_plans", "psp_mandates"];

fn collect_urls(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if url::Url::parse(s).is_ok_and(|u| u.has_host()) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_urls(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_urls(i, out)),
        _ => {}
    }
}

/// Every page of `prefix{path}` with every property shown (the default set plus the opt-in ones).
async fn walk(api: &Api, prefix: &str, path: &str, opt_in: &[&str], query: &[(&str, &str)]) -> Vec<Value> {
    let get = |q: Vec<(String, String)>| api.json(api.http.get(api.url(&format!("{prefix}{path}"))).query(&q));
    let mut base: Vec<(String, String)> = vec![("administration_id".into(), "81".into())];
    base.extend(query.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut q = base.clone();
    q.push(("per_page".into(), "1".into()));
    let (s, first) = get(q).await;
    assert_eq!(s, 200, "{path}: {first}");
    let mut names: Vec<String> = first["data"][0]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    names.extend(opt_in.iter().map(|s| s.to_string()));
    let fields = json!({ "only": names }).to_string();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut q = base.clone();
        q.push(("per_page".into(), "500".into()));
        q.push(("fields".into(), fields.clone()));
        if let Some(c) = &cursor {
            q.push(("cursor".into(), c.clone()));
        }
        let (s, page) = get(q).await;
        assert_eq!(s, 200, "{path}: {page}");
        cursor = match &page["pagination"]["cursor"] {
            Value::String(c) => Some(c.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
    }
    panic!("{path}: paging did not end");
}

/// Collects every absolute URL of every list (and of the answers that hand out links), asserts each
/// is on the mock's address, and follows one URL of each path shape.
async fn assert_no_url_leaves(api: &Api, prefix: &str) {
    let mut urls = Vec::new();
    for (path, opt_in) in LISTS {
        for page in walk(api, prefix, path, opt_in, &[]).await {
            collect_urls(&page, &mut urls);
        }
    }
    for kind in DELETED {
        let path = format!("/{kind}/deleted");
        for page in walk(api, prefix, &path, &[], &[("deleted_after", "2026-08-01T00:00:00Z")]).await {
            collect_urls(&page, &mut urls);
        }
    }
    // The answers of writes that hand out links: files, orders.
    let files = json!({"administration_id": "81", "files": [{"checksum": sha3_base64(b"x"), "byte_size": 1, "content_type": "text/plain"}]});
    let (s, b) = api
        .json(api.http.post(api.url(&format!("{prefix}/files"))).json(&files))
        .await;
    assert_eq!(s, 201, "{b}");
    collect_urls(&b, &mut urls);
    let upload = urls.last().cloned().expect("the upload url");
    let order = "--B\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n81\r\n--B\r\nContent-Disposition: form-data; name=\"order[file]\"; filename=\"o.csv\"\r\n\r\norder_line_identifier,amount\nOL-URL-1,10.00\n\r\n--B--\r\n";
    let (s, b) = api
        .json(
            api.http
                .post(api.url(&format!("{prefix}/orders")))
                .header("content-type", "multipart/form-data; boundary=B")
                .body(order),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    collect_urls(&b, &mut urls);

    let own = url::Url::parse(&api.m.uri()).expect("the mock's uri");
    let mut shapes: BTreeMap<String, String> = BTreeMap::new();
    let mut leaks = BTreeSet::new();
    for u in &urls {
        let parsed = url::Url::parse(u).expect("collected as a URL");
        if parsed.host_str() != own.host_str() || parsed.port_or_known_default() != own.port_or_known_default() {
            leaks.insert(u.clone());
        }
        let shape: String = parsed
            .path()
            .split('/')
            .map(|seg| {
                if seg.bytes().any(|b| b.is_ascii_digit()) {
                    "{}"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        shapes.entry(shape).or_insert_with(|| u.clone());
    }
    assert!(leaks.is_empty(), "URLs that leave the mock's address: {leaks:?}");
    assert!(urls.len() > 500, "the fixtures hand out many links: {}", urls.len());
    for expected in [
        "/_mock/payt/app/administrations/{}",
        "/_mock/payt/app/administrations/{}/invoices/{}",
        "/_mock/payt/app/administrations/{}/debtors/{}",
        "/_mock/payt/app/administrations/{}/credit_cases/{}",
        "/_mock/payt/app/administrations/{}/orders/{}",
        "/_mock/payt/app/administrations/{}/order_lines/{}",
        "/_mock/payt/portal/invoices/{}",
        "/_mock/payt/portal/debtors/{}",
        "/_mock/payt/portal/credit_cases/{}",
        "/_mock/payt/portal/payment_plans/{}",
        "/_mock/payt/storage/administrations/{}/invoices/{}/document.pdf",
        "/_mock/payt/storage/administrations/{}/invoices/{}/ubl.xml",
        "/_mock/payt/storage/uploads/{}",
    ] {
        assert!(shapes.contains_key(expected), "no link of shape {expected}: {shapes:?}");
    }
    // Every link answers: the pages and documents with 200, the upload url takes its PUT.
    for (shape, u) in &shapes {
        let res = if shape.starts_with("/_mock/payt/storage/uploads/") {
            assert_eq!(u, &upload);
            api.http.put(u).body("x").send().await.expect("sent")
        } else {
            api.http.get(u).send().await.expect("sent")
        };
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = res.bytes().await.expect("a body");
        assert_eq!(status, 200, "{u}: {}", String::from_utf8_lossy(&body));
        if shape.ends_with("document.pdf") {
            assert_eq!((ct.as_str(), &body[..5]), ("application/pdf", &b"%PDF-"[..]), "{u}");
        } else if shape.ends_with("ubl.xml") {
            assert_eq!((ct.as_str(), &body[..5]), ("application/xml", &b"<?xml"[..]), "{u}");
        } else if !shape.starts_with("/_mock/payt/storage/") {
            let page: Value = serde_json::from_slice(&body).expect("a JSON page");
            assert_eq!(page["mock"], "payt", "{u}: {page}");
            assert!(page["stands_for"].is_string(), "{u}: {page}");
        }
    }
}

#[tokio::test]
async fn no_url_the_mock_hands_out_leaves_its_address() {
    let api = Api::start(MockPayt::test()).await;
    assert_no_url_leaves(&api, "/v1").await;
}

#[tokio::test]
async fn no_url_leaves_under_api_v1_with_integer_ids_either() {
    let api = Api::start(MockPayt::test().integer_ids(true)).await;
    assert_no_url_leaves(&api, "/api/v1").await;
    // The pages speak integer ids too, and a page of a record that does not exist is a 404.
    let (s, page) = api
        .json(api.http.get(api.url("/_mock/payt/app/administrations/81")))
        .await;
    assert_eq!((s, page["id"].clone()), (200, json!(81)));
    let (s, err) = api
        .json(api.http.get(api.url("/_mock/payt/portal/invoices/999999999")))
        .await;
    assert_eq!((s, err["code"].clone()), (404, json!("not_found")));
}

#[tokio::test]
async fn links_follow_the_host_and_scheme_the_client_called() {
    let api = Api::start(MockPayt::test()).await;
    let get = |host: &'static str, proto: Option<&'static str>| {
        let mut rb = api.http.get(api.url("/v1/administrations/81")).header("host", host);
        if let Some(p) = proto {
            rb = rb.header("x-forwarded-proto", p);
        }
        api.json(rb)
    };
    let (s, b) = get("payt.mock.test:8443", Some("https")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["administration_url"],
        "https://payt.mock.test:8443/_mock/payt/app/administrations/81"
    );
    let (_, b) = get("localhost:8180", None).await;
    assert_eq!(
        b["administration_url"],
        "http://localhost:8180/_mock/payt/app/administrations/81"
    );
    // A Host that cannot be an authority gives a root-relative link, never someone else's host.
    let (_, b) = get("a@b", None).await;
    assert_eq!(b["administration_url"], "/_mock/payt/app/administrations/81");
}
