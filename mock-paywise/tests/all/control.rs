//! The control plane as paywise clients see it: worlds named by the `/_mock/w/{world}` base-URL
//! prefix or the `X-Mock-World` header (links, redirects, data, the back office, webhooks, access
//! modes and Partner API accounts all stay inside the world), faults in paywise's error shape,
//! journal redaction of the secrets paywise hands out, snapshot round trips of a world with
//! partner data, webhooks and pending deliveries, and the mock with the control API switched off.
//!
//! Nothing here sleeps to wait: webhook arrivals and delivery states are polled in bounded loops.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use mock_paywise::resources::partner::PARTNER_TOKEN;
use mock_paywise::{MockPaywise, PaywiseMock as _};
use reqwest::Method;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// How a request names its world.
#[derive(Debug, Clone, Copy)]
enum Via<'a> {
    /// No name: the default world.
    Default,
    /// `X-Mock-World: <name>`.
    Header(&'a str),
    /// The base URL `/_mock/w/<name>`.
    Prefix(&'a str),
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }
}

struct Api {
    m: MockPaywise,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self::with(MockPaywise::test().start().await)
    }

    fn with(m: MockPaywise) -> Self {
        Self {
            m,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
        }
    }

    /// The base URL a client of `via` configures.
    fn base(&self, via: Via<'_>) -> String {
        match via {
            Via::Prefix(w) => format!("{}/_mock/w/{w}", self.m.uri()),
            Via::Default | Via::Header(_) => self.m.uri(),
        }
    }

    /// Sends to an absolute `url` (a link the mock wrote, say).
    async fn send_url(
        &self,
        method: Method,
        url: &str,
        via: Via<'_>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, url);
        if let Via::Header(w) = via {
            req = req.header("x-mock-world", w);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the mock answers");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, headers, body }
    }

    async fn send(&self, method: Method, path: &str, via: Via<'_>, token: Option<&str>, body: Option<Value>) -> Answer {
        let url = format!("{}{path}", self.base(via));
        self.send_url(method, &url, via, token, body).await
    }

    async fn get(&self, path: &str, via: Via<'_>) -> Answer {
        self.send(Method::GET, path, via, Some(self.m.token()), None).await
    }

    async fn post(&self, path: &str, via: Via<'_>, body: Value) -> Answer {
        self.send(Method::POST, path, via, Some(self.m.token()), Some(body))
            .await
    }

    /// A new debtor and a claim of 100 EUR on it, both with `reference`; the claim.
    async fn claim(&self, via: Via<'_>, token: &str, reference: &str) -> Value {
        let d = self
            .send(
                Method::POST,
                "/v1/debtors/",
                via,
                Some(token),
                Some(debtor_body(reference)),
            )
            .await;
        assert_eq!(d.status, 201, "{}", d.body);
        let c = self
            .send(
                Method::POST,
                "/v1/claims/",
                via,
                Some(token),
                Some(claim_body(&d.body["id"], reference)),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        c.body
    }

    /// Every record of a DRF list, following `next` as a client would (each link with the same
    /// world header, if any); the pages as well.
    async fn walk(&self, first: &str, via: Via<'_>, token: &str) -> (Vec<Value>, Vec<Value>) {
        let mut url = Some(first.to_string());
        let mut items = Vec::new();
        let mut pages = Vec::new();
        while let Some(u) = url {
            let a = self.send_url(Method::GET, &u, via, Some(token), None).await;
            assert_eq!(a.status, 200, "{u}: {}", a.body);
            items.extend(a.body["results"].as_array().expect("results").iter().cloned());
            url = a.body["next"].as_str().map(str::to_string);
            pages.push(a.body);
            assert!(pages.len() < 1000, "the walk does not end");
        }
        (items, pages)
    }

    /// Adds a fault rule to the world `via` names.
    async fn fault(&self, via: Via<'_>, rule: Value) -> Value {
        let a = self.send(Method::POST, "/_mock/faults", via, None, Some(rule)).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body
    }
}

fn debtor_body(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "business",
        "organization": {"name": format!("{reference} GmbH")},
        "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
    })
}

fn claim_body(debtor: &Value, reference: &str) -> Value {
    json!({
        "debtor": debtor,
        "your_reference": reference,
        "main_claim_amount": {"value": "100.00", "currency": "EUR"},
        "total_claim_amount": {"value": "100.00", "currency": "EUR"},
        "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null,
        "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial",
        "claim_disputed": false, "obligation_fulfilled": true
    })
}

fn references(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| i["your_reference"].as_str().map(str::to_string))
        .collect()
}

/// Every string in `v` that is an absolute URL, with where it sits.
fn absolute_urls(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            out.push((at.to_string(), s.clone()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                absolute_urls(item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(m) => {
            for (k, child) in m {
                absolute_urls(child, &format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Asserts that every absolute URL in `v` the mock wrote (not the client's own `success_url`s
/// and webhook targets) starts with `base/`; how many there were.
fn assert_links_under(v: &Value, base: &str, what: &str) -> usize {
    let mut urls = Vec::new();
    absolute_urls(v, "", &mut urls);
    let mine: Vec<&(String, String)> = urls
        .iter()
        .filter(|(_, u)| !u.starts_with("https://partner.example") && !u.starts_with("https://example.com"))
        .collect();
    for (at, u) in &mine {
        assert!(
            u.starts_with(&format!("{base}/")),
            "{what}{at} = {u} is not under {base}/"
        );
        let rest = &u[base.len()..];
        assert!(!rest.starts_with("/_mock/w/"), "{what}{at} = {u} repeats the prefix");
    }
    mine.len()
}

/// The id of a fixture claim in `state` (test mode), as every world starts with it.
async fn fixture_claim(api: &Api, state: &str) -> String {
    let (items, _) = api
        .walk(
            &format!("{}/v1/claims/?limit=1000", api.m.uri()),
            Via::Default,
            api.m.token(),
        )
        .await;
    items
        .iter()
        .find(|c| c["submission_state"] == state)
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("a fixture claim in state {state}"))
        .to_string()
}

/// Polls `check` (every 10 ms, for at most 10 s) until it gives a value.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A local webhook receiver
// ---------------------------------------------------------------------------------------------

/// What a receiver got: headers and JSON body of each delivery.
type Got = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    got: Got,
}

async fn receive(State(got): State<Got>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    got.lock().expect("lock").push((headers, v));
    StatusCode::OK
}

impl Receiver {
    async fn start() -> Self {
        let got: Got = Arc::default();
        let app = Router::new().fallback(receive).with_state(got.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/hooks"),
            got,
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.got.lock().expect("lock").iter().map(|(_, b)| b.clone()).collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        eventually(&format!("{n} webhook deliveries"), || async {
            let b = self.bodies();
            (b.len() >= n).then_some(b)
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Links and redirects inside a world
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn links_under_the_world_prefix_keep_it_and_lead_back_into_the_world() {
    let api = Api::start().await;
    let uri = api.m.uri();
    let p = Via::Prefix("p");
    let base = format!("{uri}/_mock/w/p");
    let token = api.m.token().to_string();

    // Records only world p has, and one only the default world has.
    let mut mine = BTreeSet::new();
    for i in 0..3 {
        let reference = format!("only-in-p-{i}");
        let c = api.claim(p, &token, &reference).await;
        assert_links_under(&c, &base, "the created claim");
        assert!(
            c["href"]
                .as_str()
                .is_some_and(|h| h.starts_with(&format!("{base}/v1/claims/")))
        );
        mine.insert(reference);
    }
    api.claim(Via::Default, &token, "only-in-default").await;

    // The first page of two: next under the prefix, no previous.
    let first = api.get("/v1/claims/?limit=2", p).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body["next"],
        json!(format!("{base}/v1/claims/?limit=2&offset=2")),
        "{}",
        first.body
    );
    assert_eq!(first.body["previous"], Value::Null);
    // The second page links back under the prefix too.
    let second = api
        .send_url(
            Method::GET,
            first.body["next"].as_str().expect("next"),
            Via::Default,
            Some(&token),
            None,
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["previous"], json!(format!("{base}/v1/claims/?limit=2")));

    // Following next from the first page walks world p alone: p's claims, not the default's.
    let (claims, pages) = api
        .walk(&format!("{base}/v1/claims/?limit=7"), Via::Default, &token)
        .await;
    assert!(pages.len() > 1, "several pages");
    let refs = references(&claims);
    assert!(mine.is_subset(&refs), "{mine:?} not all in {refs:?}");
    assert!(
        !refs.contains("only-in-default"),
        "the default world's claim shows in p"
    );
    assert_eq!(claims.len() as u64, pages[0]["count"].as_u64().expect("count"));
    let mut links = 0;
    for page in &pages {
        links += assert_links_under(page, &base, "a claims page");
    }
    assert!(
        links > claims.len(),
        "every claim has an href, pages have links ({links})"
    );
    let (debtors, pages) = api
        .walk(&format!("{base}/v1/debtors/?limit=5"), Via::Default, &token)
        .await;
    assert!(mine.is_subset(&references(&debtors)));
    assert!(!references(&debtors).contains("only-in-default"));
    for page in &pages {
        assert_links_under(page, &base, "a debtors page");
    }
    // Following a record's href stays in p.
    let one = claims
        .iter()
        .find(|c| c["your_reference"] == "only-in-p-0")
        .expect("p's claim");
    let shown = api
        .send_url(
            Method::GET,
            one["href"].as_str().expect("href"),
            Via::Default,
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (shown.status, shown.body["your_reference"].clone()),
        (200, json!("only-in-p-0"))
    );
    let default_href = one["href"].as_str().expect("href").replace("/_mock/w/p", "");
    let elsewhere = api
        .send_url(Method::GET, &default_href, Via::Default, Some(&token), None)
        .await;
    // (Worlds start from one seeded id state: the default world's first new claim has the same id
    // as p's first, but it is the default world's own.)
    assert_eq!(
        (elsewhere.status, elsewhere.body["your_reference"].clone()),
        (200, json!("only-in-default")),
        "p's claim is not in the default world"
    );

    // A mandate (through the back office), its status updates with a generated file, a request to
    // client with an attachment: every link and file URL under the prefix, and each one works.
    let id = one["id"].as_str().expect("id");
    let r = api
        .send(
            Method::PATCH,
            &format!("/v1/claims/{id}/"),
            p,
            Some(&token),
            Some(json!({"submission_state": "released"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api.post(
            &format!("/_mock/paywise/claims/{id}/advance"),
            p,
            json!({"to": "under_review"})
        )
        .await
        .status,
        200
    );
    let accepted = api
        .post(
            &format!("/_mock/paywise/claims/{id}/advance"),
            p,
            json!({"to": "accepted"}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert!(assert_links_under(&accepted.body, &base, "the advance answer") >= 2);
    let mandate = accepted.body["mandate"]["id"].as_str().expect("a mandate").to_string();
    let su = api
        .post(
            &format!("/_mock/paywise/mandates/{mandate}/status-updates"),
            p,
            json!({"title": "Brief", "description": "<p>Brief versandt</p>", "attach_document": true}),
        )
        .await;
    assert_eq!(su.status, 201, "{}", su.body);
    let rtc = api
        .post(
            &format!("/_mock/paywise/mandates/{mandate}/requests-to-client"),
            p,
            json!({"title": "Frage", "description": "Bitte Rechnung senden", "allowed_answer_types": ["yes-no"], "attach_document": true}),
        )
        .await;
    assert_eq!(rtc.status, 201, "{}", rtc.body);
    assert_links_under(&rtc.body, &base, "the request to client");
    let updates = api.get(&format!("/v1/mandates/{mandate}/statusupdates/"), p).await;
    assert_eq!(updates.status, 200, "{}", updates.body);
    let mut files = Vec::new();
    absolute_urls(&updates.body, "", &mut files);
    let rtcs = api.get(&format!("/v1/mandates/{mandate}/requests-to-client/"), p).await;
    absolute_urls(&rtcs.body, "", &mut files);
    let mandate_page = api.get(&format!("/v1/mandates/{mandate}/"), p).await;
    absolute_urls(&mandate_page.body, "", &mut files);
    let downloads: Vec<&String> = files
        .iter()
        .filter(|(at, _)| at.ends_with("download_url"))
        .map(|(_, u)| u)
        .collect();
    assert!(
        downloads.len() >= 2,
        "a status update file and an attachment: {files:?}"
    );
    for (at, url) in &files {
        assert!(url.starts_with(&format!("{base}/")), "{at} = {url}");
        let a = api.send_url(Method::GET, url, Via::Default, Some(&token), None).await;
        assert_eq!(a.status, 200, "{at} = {url}: {}", a.body);
    }

    // The partner's invite_url and hrefs: under the prefix, and the invite page is p's.
    let company = api
        .send(
            Method::POST,
            "/partner/v1/companies/",
            p,
            Some(PARTNER_TOKEN),
            Some(json!({"name": "Welt P GmbH", "phone": "+49 30 1234567"})),
        )
        .await;
    assert_eq!(company.status, 200, "{}", company.body);
    assert_links_under(&company.body, &base, "the partner company");
    // The Partner API's own rules hold under the prefix: a Case Management key is refused there.
    let r = api.get("/partner/v1/companies/", p).await;
    assert_eq!(
        (r.status, r.body),
        (
            403,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );
    let invite = api
        .send(
            Method::POST,
            "/partner/v1/userinvites/",
            p,
            Some(PARTNER_TOKEN),
            Some(json!({"email": "p@example.org", "company": company.body["id"],
                        "success_url": "https://partner.example/ok", "failure_url": "https://partner.example/no"})),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.body);
    let invite_url = invite.body["invite_url"].as_str().expect("invite_url");
    assert!(
        invite_url.starts_with(&format!("{base}/_mock/paywise/partner/onboarding/")),
        "{invite_url}"
    );
    let page = api.send_url(Method::GET, invite_url, Via::Default, None, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = api
        .send_url(
            Method::GET,
            &invite_url.replace("/_mock/w/p", ""),
            Via::Default,
            None,
            None,
        )
        .await;
    assert_eq!(page.status, 404, "the invite is p's alone");

    // APPEND_SLASH: the redirect keeps the prefix (and the query).
    let r = api.get("/v1/claims", p).await;
    assert_eq!(r.status, 301);
    assert_eq!(r.location(), Some("/_mock/w/p/v1/claims/"));
    let r = api.get("/v1/claims?limit=2", p).await;
    assert_eq!((r.status, r.location()), (301, Some("/_mock/w/p/v1/claims/?limit=2")));
    let r = api
        .send(Method::GET, "/partner/v1/companies", p, Some(PARTNER_TOKEN), None)
        .await;
    assert_eq!(
        (r.status, r.location()),
        (301, Some("/_mock/w/p/partner/v1/companies/"))
    );
}

#[tokio::test]
async fn with_the_world_header_links_have_no_prefix_and_data_is_the_worlds() {
    let api = Api::start().await;
    let uri = api.m.uri();
    let p = Via::Header("p");
    let token = api.m.token().to_string();
    for i in 0..3 {
        let c = api.claim(p, &token, &format!("hdr-p-{i}")).await;
        assert!(
            c["href"]
                .as_str()
                .is_some_and(|h| h.starts_with(&format!("{uri}/v1/claims/"))),
            "{c}"
        );
    }
    api.claim(Via::Default, &token, "hdr-default").await;

    let first = api.get("/v1/claims/?limit=2", p).await;
    assert_eq!(first.body["next"], json!(format!("{uri}/v1/claims/?limit=2&offset=2")));
    assert!(assert_links_under(&first.body, &uri, "a page") > 2);
    // Following next with the header: world p's data; without it: the default world's.
    let (with_header, pages) = api.walk(&format!("{uri}/v1/claims/?limit=7"), p, &token).await;
    for page in &pages {
        let n = assert_links_under(page, &uri, "a page");
        assert!(n > 0);
    }
    let refs = references(&with_header);
    assert!((0..3).all(|i| refs.contains(&format!("hdr-p-{i}"))), "{refs:?}");
    assert!(!refs.contains("hdr-default"));
    let (without, _) = api
        .walk(&format!("{uri}/v1/claims/?limit=7"), Via::Default, &token)
        .await;
    let refs = references(&without);
    assert!(refs.contains("hdr-default") && !refs.contains("hdr-p-0"), "{refs:?}");
    assert_eq!(
        with_header.len(),
        without.len() + 2,
        "three claims in p, one in the default world"
    );

    let r = api.get("/v1/claims", p).await;
    assert_eq!((r.status, r.location()), (301, Some("/v1/claims/")));
    let r = api.get("/v1/debtors?your_reference=hdr-p-1", p).await;
    assert_eq!(
        (r.status, r.location()),
        (301, Some("/v1/debtors/?your_reference=hdr-p-1"))
    );
    let found = api.get("/v1/debtors/?your_reference=hdr-p-1", p).await;
    assert_eq!(found.body["count"], 1, "{}", found.body);
    let found = api.get("/v1/debtors/?your_reference=hdr-p-1", Via::Default).await;
    assert_eq!(found.body["count"], 0, "{}", found.body);

    // The header and the prefix naming two worlds at once is refused in paywise's shape.
    let both = api
        .send_url(
            Method::GET,
            &format!("{uri}/_mock/w/q/v1/claims/"),
            p,
            Some(&token),
            None,
        )
        .await;
    assert_eq!(both.status, 400, "{}", both.body);
    assert!(both.body["detail"].is_string(), "{}", both.body);
}

// ---------------------------------------------------------------------------------------------
// The back office, webhooks, modes and partner accounts per world
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_back_office_acts_in_the_world_it_is_called_in() {
    let api = Api::start().await;
    let id = fixture_claim(&api, "released").await;
    let state = |v: &Answer| v.body["submission_state"].clone();
    let path = format!("/v1/claims/{id}/");

    // By header: world a moves, the default world and world b do not.
    let r = api
        .post(
            &format!("/_mock/paywise/claims/{id}/advance"),
            Via::Header("a"),
            json!({"to": "under_review"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(state(&api.get(&path, Via::Header("a")).await), "under_review");
    assert_eq!(state(&api.get(&path, Via::Default).await), "released");
    assert_eq!(state(&api.get(&path, Via::Header("b")).await), "released");

    // By prefix: the same world a, one step further, into a mandate only a has.
    let r = api
        .post(
            &format!("/_mock/paywise/claims/{id}/advance"),
            Via::Prefix("a"),
            json!({"to": "accepted"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mandate = r.body["mandate"]["id"].as_str().expect("a mandate").to_string();
    let in_a = api.get(&path, Via::Header("a")).await;
    assert_eq!(state(&in_a), "accepted");
    assert_eq!(in_a.body["mandate"]["id"], json!(mandate));
    let in_default = api.get(&path, Via::Default).await;
    assert_eq!(
        (state(&in_default), in_default.body["mandate"].clone()),
        (json!("released"), Value::Null)
    );
    assert_eq!(
        api.get(&format!("/v1/mandates/{mandate}/"), Via::Prefix("a"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.get(&format!("/v1/mandates/{mandate}/"), Via::Default).await.status,
        404
    );
    assert_eq!(
        api.get(&format!("/v1/mandates/{mandate}/"), Via::Header("b"))
            .await
            .status,
        404
    );

    // A status update through the back office of a: the default world has no such mandate.
    let body = json!({"title": "t", "description": "d"});
    let r = api
        .post(
            &format!("/_mock/paywise/mandates/{mandate}/status-updates"),
            Via::Default,
            body.clone(),
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (404, json!({"detail": "Not found."})));
    let r = api
        .post(
            &format!("/_mock/paywise/mandates/{mandate}/status-updates"),
            Via::Header("a"),
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The default world can still take its own copy of the claim through review.
    let r = api
        .post(
            &format!("/_mock/paywise/claims/{id}/advance"),
            Via::Default,
            json!({"to": "under_review"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(state(&api.get(&path, Via::Header("a")).await), "accepted");
}

#[tokio::test]
async fn webhooks_deliver_only_the_changes_of_their_own_world() {
    let api = Api::start().await;
    let token = api.m.token().to_string();
    let in_a = Receiver::start().await;
    let in_default = Receiver::start().await;
    for (via, r) in [(Via::Header("a"), &in_a), (Via::Default, &in_default)] {
        let w = api
            .post("/v1/webhooks/", via, json!({"url": r.url, "events": ["claim.created"]}))
            .await;
        assert_eq!(w.status, 201, "{}", w.body);
    }
    // Only world a lists a's endpoint; world b has none.
    assert_eq!(api.get("/v1/webhooks/", Via::Header("a")).await.body["count"], 1);
    assert_eq!(api.get("/v1/webhooks/", Via::Default).await.body["count"], 1);
    assert_eq!(api.get("/v1/webhooks/", Via::Header("b")).await.body["count"], 0);

    let reference = |b: &Value| b["data"]["your_reference"].as_str().unwrap_or_default().to_string();
    // Interleaved changes: default, a (by header), default, a (by prefix), b.
    api.claim(Via::Default, &token, "hook-default-1").await;
    in_default.wait_for(1).await;
    api.claim(Via::Header("a"), &token, "hook-a-1").await;
    in_a.wait_for(1).await;
    api.claim(Via::Default, &token, "hook-default-2").await;
    in_default.wait_for(2).await;
    api.claim(Via::Header("b"), &token, "hook-b-1").await;
    api.claim(Via::Prefix("a"), &token, "hook-a-2").await;
    let got = in_a.wait_for(2).await;
    // A marker in the default world last: once it arrived, every earlier delivery has been made.
    api.claim(Via::Default, &token, "hook-default-3").await;
    in_default.wait_for(3).await;

    let a_refs: Vec<String> = in_a.bodies().iter().map(reference).collect();
    assert_eq!(a_refs, ["hook-a-1", "hook-a-2"], "{got:?}");
    let d_refs: Vec<String> = in_default.bodies().iter().map(reference).collect();
    assert_eq!(d_refs, ["hook-default-1", "hook-default-2", "hook-default-3"]);
    // The delivery of a change made under the prefix carries the prefix in its links.
    let prefixed = &in_a.bodies()[1];
    assert!(
        prefixed["data"]["href"]
            .as_str()
            .is_some_and(|h| h.starts_with(&format!("{}/_mock/w/a/v1/claims/", api.m.uri()))),
        "{prefixed}"
    );
    // Each world's delivery log holds its own deliveries.
    let hooks = api.get("/v1/webhooks/", Via::Header("a")).await;
    let wid = hooks.body["results"][0]["id"].as_str().expect("id").to_string();
    let deliveries = api
        .get(&format!("/v1/webhooks/{wid}/deliveries/"), Via::Header("a"))
        .await;
    assert_eq!(deliveries.body["count"], 2, "{}", deliveries.body);
    // Worlds start from one seeded id state, so the default world's first endpoint has the same
    // id; it is the default world's own endpoint, with its own deliveries.
    let same_id = api.get(&format!("/v1/webhooks/{wid}/"), Via::Default).await;
    assert_eq!(same_id.body["url"], json!(in_default.url), "{}", same_id.body);
    let deliveries = api.get(&format!("/v1/webhooks/{wid}/deliveries/"), Via::Default).await;
    assert_eq!(deliveries.body["count"], 3, "{}", deliveries.body);
    assert_eq!(
        api.get(&format!("/v1/webhooks/{wid}/"), Via::Header("b")).await.status,
        404
    );
}

#[tokio::test]
async fn access_modes_stay_apart_inside_a_world_and_partner_accounts_are_per_world() {
    let api = Api::start().await;
    let live = api.m.production_token().to_string();
    let test = api.m.token().to_string();
    let a = Via::Header("a");
    let d = api
        .send(
            Method::POST,
            "/v1/debtors/",
            a,
            Some(&live),
            Some(debtor_body("live-in-a")),
        )
        .await;
    assert_eq!(d.status, 201, "{}", d.body);
    let id = d.body["id"].as_str().expect("id").to_string();
    let count = |via: Via<'static>, token: String| {
        let api = &api;
        async move {
            let r = api
                .send(
                    Method::GET,
                    "/v1/debtors/?your_reference=live-in-a",
                    via,
                    Some(&token),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["count"].as_u64().expect("count")
        }
    };
    assert_eq!(count(Via::Header("a"), live.clone()).await, 1);
    assert_eq!(count(Via::Prefix("a"), live.clone()).await, 1);
    assert_eq!(
        count(Via::Header("a"), test.clone()).await,
        0,
        "test mode does not see production"
    );
    assert_eq!(
        count(Via::Default, live.clone()).await,
        0,
        "the default world does not see a"
    );
    let shown = api
        .send(Method::GET, &format!("/v1/debtors/{id}/"), a, Some(&test), None)
        .await;
    assert_eq!((shown.status, shown.body), (404, json!({"detail": "Not found."})));
    let shown = api
        .send(Method::GET, &format!("/v1/debtors/{id}/"), a, Some(&live), None)
        .await;
    assert_eq!(shown.status, 200);
    // A claim in a's production mode, then the claim counts of the two modes differ in a only.
    api.claim(a, &live, "live-claim-in-a").await;
    let claims = |via: Via<'static>, token: String| {
        let api = &api;
        async move {
            api.send(Method::GET, "/v1/claims/?limit=1", via, Some(&token), None)
                .await
                .body["count"]
                .clone()
        }
    };
    let live_a = claims(Via::Header("a"), live.clone()).await;
    let live_default = claims(Via::Default, live.clone()).await;
    assert_eq!(live_a.as_u64(), live_default.as_u64().map(|n| n + 1));
    assert_eq!(
        claims(Via::Header("a"), test.clone()).await,
        claims(Via::Default, test.clone()).await
    );

    // Partner API: a company made in a is listed in a alone.
    let made = api
        .send(
            Method::POST,
            "/partner/v1/companies/",
            a,
            Some(PARTNER_TOKEN),
            Some(json!({"name": "Nur in A GmbH", "phone": "+49 30 1234567"})),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let cid = made.body["id"].as_str().expect("id").to_string();
    let names = |via: Via<'static>| {
        let api = &api;
        async move {
            let r = api
                .send(
                    Method::GET,
                    "/partner/v1/companies/?limit=1000",
                    via,
                    Some(PARTNER_TOKEN),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };
    let in_a = names(Via::Header("a")).await;
    let in_default = names(Via::Default).await;
    assert!(in_a.contains(&"Nur in A GmbH".to_string()), "{in_a:?}");
    assert!(!in_default.contains(&"Nur in A GmbH".to_string()), "{in_default:?}");
    assert_eq!(in_a.len(), in_default.len() + 1);
    assert!(!names(Via::Header("b")).await.contains(&"Nur in A GmbH".to_string()));
    let shown = api
        .send(
            Method::GET,
            &format!("/partner/v1/companies/{cid}/"),
            Via::Default,
            Some(PARTNER_TOKEN),
            None,
        )
        .await;
    assert_eq!(shown.status, 404);
    let shown = api
        .send(
            Method::GET,
            &format!("/partner/v1/companies/{cid}/"),
            Via::Prefix("a"),
            Some(PARTNER_TOKEN),
            None,
        )
        .await;
    assert_eq!(shown.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Faults and the journal
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn faults_answer_in_paywise_shape_in_their_world_only() {
    let api = Api::start().await;
    let f = Via::Header("f");
    let rule = api
        .fault(
            f,
            json!({"path": "/v1/claims/", "action": {"type": "status", "status": 503}, "times": 1}),
        )
        .await;
    let id = rule["id"].as_str().expect("id").to_string();
    // The default world has no rule.
    assert_eq!(api.get("/v1/claims/", Via::Default).await.status, 200);
    let r = api.get("/v1/claims/", f).await;
    assert_eq!(r.status, 503);
    let detail = r.body["detail"].as_str().expect("a detail");
    assert!(detail.contains("503"), "{detail}");
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "only detail: {}", r.body);
    assert_eq!(
        r.headers.get("x-mock-fault").and_then(|v| v.to_str().ok()),
        Some(id.as_str())
    );
    assert_eq!(api.get("/v1/claims/", f).await.status, 200, "times: 1");

    let r = api
        .fault(Via::Prefix("f"), json!({"path": "/v1/debtors/", "action": {"type": "status", "status": 422, "message": "Kaputt"}, "times": 1}))
        .await;
    assert!(r["id"].is_string());
    let r = api.get("/v1/debtors/", f).await;
    assert_eq!((r.status, r.body), (422, json!({"detail": "Kaputt"})));

    api.fault(
        f,
        json!({"method": "GET", "path": "/v1/mandates/", "action": {"type": "rate_limit", "retry_after": 7}}),
    )
    .await;
    let r = api.get("/v1/mandates/", Via::Prefix("f")).await;
    assert_eq!(r.status, 429);
    assert!(r.body["detail"].is_string(), "{}", r.body);
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "only detail: {}", r.body);
    assert_eq!(r.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    assert_eq!(api.get("/v1/mandates/", Via::Default).await.status, 200);

    // The journal of f notes the rules that fired.
    let j = api.send(Method::GET, "/_mock/journal", f, None, None).await;
    let faults: Vec<Value> = j.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["fault"].clone())
        .collect();
    assert_eq!(
        faults,
        [json!("f1"), Value::Null, json!("f2"), json!("f3")],
        "{}",
        j.body
    );
    // Unknown routes of the control API answer in the control API's shape; unknown vendor routes in
    // paywise's.
    let r = api.get("/v1/nothing/", f).await;
    assert_eq!((r.status, r.body), (404, json!({"detail": "Not found."})));
}

#[tokio::test]
async fn the_journal_redacts_the_secrets_paywise_hands_out() {
    let api = Api::start().await;
    let s = Via::Header("s");
    // A Case Management key creates a webhook: the answer shows the secret once.
    let w = api
        .post(
            "/v1/webhooks/",
            s,
            json!({"url": "https://example.com/hook", "events": ["claim.created"]}),
        )
        .await;
    assert_eq!(w.status, 201, "{}", w.body);
    let secret = w.body["secret_key"].as_str().expect("a secret").to_string();

    // A partner key acting for one of its users (X-User-Id) does the same.
    let users = api
        .send(Method::GET, "/partner/v1/users/", s, Some(PARTNER_TOKEN), None)
        .await;
    let mut partner_secret = None;
    for u in users.body["results"].as_array().expect("users") {
        let uid = u["id"].as_str().expect("id");
        let r = api
            .http
            .post(format!("{}/v1/webhooks/", api.m.uri()))
            .header("x-mock-world", "s")
            .header("x-user-id", uid)
            .bearer_auth(PARTNER_TOKEN)
            .json(&json!({"url": "https://example.com/partner-hook", "events": ["claim.created"]}))
            .send()
            .await
            .expect("answers");
        if r.status() == 201 {
            let v: Value = r.json().await.expect("json");
            partner_secret = v["secret_key"].as_str().map(str::to_string);
            break;
        }
    }
    let partner_secret = partner_secret.expect("a fixture partner user that may act");
    assert_ne!(secret, partner_secret);

    let j = api
        .send(
            Method::GET,
            "/_mock/journal?path=/v1/webhooks/&method=POST",
            s,
            None,
            None,
        )
        .await;
    let entries = j.body["entries"].as_array().expect("entries");
    let created: Vec<&Value> = entries.iter().filter(|e| e["response"]["status"] == 201).collect();
    assert_eq!(created.len(), 2, "{}", j.body);
    for e in &created {
        let body: Value = serde_json::from_str(e["response"]["body"].as_str().expect("a body")).expect("json");
        assert_eq!(body["secret_key"], "[redacted]", "{e}");
        assert!(
            body["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://example.com/"))
        );
    }
    let har = api.send(Method::GET, "/_mock/journal/har", s, None, None).await;
    for text in [j.body.to_string(), har.body.to_string()] {
        assert!(
            !text.contains(&secret) && !text.contains(&partner_secret),
            "a webhook secret in {text}"
        );
        assert!(!text.contains(PARTNER_TOKEN) && !text.contains(api.m.token()));
    }
    // The partner's own key is redacted in the request.
    let partner_entry = created
        .iter()
        .find(|e| {
            e["request"]["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .any(|h| h[0] == "x-user-id")
        })
        .expect("the partner's request");
    let auth: Vec<&Value> = partner_entry["request"]["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|h| h[0] == "authorization")
        .collect();
    assert_eq!(auth, [&json!(["authorization", "Bearer [redacted]"])]);
}

// ---------------------------------------------------------------------------------------------
// Reset and snapshots
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_round_trip_and_reset_of_a_world_with_partner_data_webhooks_and_pending_deliveries() {
    let api = Api::start().await;
    let token = api.m.token().to_string();
    let s = Via::Header("snap");
    // A frozen clock: the failed delivery's retry (a minute later) never falls due on its own.
    let c = api
        .send(Method::POST, "/_mock/clock", s, None, Some(json!({"action": "freeze"})))
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let fresh = api.send(Method::GET, "/_mock/snapshot", s, None, None).await.body;

    // Partner data, a webhook, a change it subscribed to, and its failed first attempt.
    let company = api
        .send(
            Method::POST,
            "/partner/v1/companies/",
            s,
            Some(PARTNER_TOKEN),
            Some(json!({"name": "Schnappschuss GmbH", "phone": "+49 30 1234567"})),
        )
        .await;
    assert_eq!(company.status, 200, "{}", company.body);
    let w = api
        .post(
            "/v1/webhooks/",
            s,
            // A loopback port nobody listens on: the attempt fails at once, the same way everywhere.
            json!({"url": "https://127.0.0.1:1/snap", "events": ["claim.created"]}),
        )
        .await;
    assert_eq!(w.status, 201, "{}", w.body);
    let wid = w.body["id"].as_str().expect("id").to_string();
    api.claim(s, &token, "snap-1").await;
    let deliveries = format!("/v1/webhooks/{wid}/deliveries/");
    let pending = eventually("a failed first attempt", || async {
        let page = api.get(&deliveries, s).await.body;
        let d = page["results"][0].clone();
        (d["attempts"] == 1 && d["status"] == "pending").then_some(d)
    })
    .await;
    assert!(
        pending["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("Connection failed")),
        "{pending}"
    );

    let first = api.send(Method::GET, "/_mock/snapshot", s, None, None).await;
    assert_eq!(first.status, 200);
    let first = first.body;
    assert_eq!(first["world"], "snap");
    let text = first.to_string();
    assert!(text.contains("Schnappschuss GmbH") && text.contains(&wid) && text.contains("snap-1"));
    assert!(
        text.contains(pending["id"].as_str().expect("id")),
        "the pending delivery is in the snapshot"
    );

    // More writes of every kind.
    api.claim(s, &token, "snap-2").await;
    api.send(
        Method::POST,
        "/partner/v1/companies/",
        s,
        Some(PARTNER_TOKEN),
        Some(json!({"name": "Danach GmbH", "phone": "+49 30 1234567"})),
    )
    .await;
    api.post(
        "/v1/webhooks/",
        s,
        json!({"url": "https://example.com/later", "events": ["payment.created"]}),
    )
    .await;
    let after = api.send(Method::GET, "/_mock/snapshot", s, None, None).await.body;
    assert_ne!(after, first);

    // Put the export back: the world is exactly as exported.
    let put = api
        .send(Method::PUT, "/_mock/snapshot", s, None, Some(first.clone()))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let again = api.send(Method::GET, "/_mock/snapshot", s, None, None).await.body;
    assert_eq!(again, first);
    assert_eq!(api.get("/v1/debtors/?your_reference=snap-2", s).await.body["count"], 0);
    assert_eq!(api.get("/v1/debtors/?your_reference=snap-1", s).await.body["count"], 1);
    assert_eq!(api.get("/v1/webhooks/", s).await.body["count"], 1);
    let d = api.get(&deliveries, s).await.body;
    assert_eq!(
        (d["count"].clone(), d["results"][0]["status"].clone()),
        (json!(1), json!("pending"))
    );
    // The restored world goes on working: the pending delivery is retried once due.
    api.send(
        Method::POST,
        "/_mock/clock",
        s,
        None,
        Some(json!({"action": "advance", "by": "PT2M"})),
    )
    .await;
    eventually("the retry", || async {
        let d = api.get(&deliveries, s).await.body;
        (d["results"][0]["attempts"] == 2).then_some(())
    })
    .await;
    // The default world never saw any of it.
    assert_eq!(api.get("/v1/webhooks/", Via::Default).await.body["count"], 0);

    // Reset: back to the seeded start (data and clock), as a world that was never used.
    let r = api.send(Method::POST, "/_mock/reset", s, None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reset = api.send(Method::GET, "/_mock/snapshot", s, None, None).await.body;
    assert_eq!(reset["data"], fresh["data"]);
    let unused = api
        .send(Method::GET, "/_mock/snapshot", Via::Header("unused"), None, None)
        .await
        .body;
    assert_eq!(reset["data"], unused["data"]);
    assert_eq!(api.get("/v1/webhooks/", s).await.body["count"], 0);
    let companies = api
        .send(Method::GET, "/partner/v1/companies/", s, Some(PARTNER_TOKEN), None)
        .await;
    assert!(!companies.body.to_string().contains("Schnappschuss"));
    // A snapshot of one world loads into another (by prefix) too.
    let put = api
        .send(
            Method::PUT,
            "/_mock/snapshot",
            Via::Prefix("copy"),
            None,
            Some(first.clone()),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        api.get("/v1/debtors/?your_reference=snap-1", Via::Header("copy"))
            .await
            .body["count"],
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Without the control API
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn without_the_control_api_there_is_no_back_office_no_worlds_and_no_header() {
    let api = Api::with(MockPaywise::test().control_api(false).start().await);
    let id = fixture_claim(&api, "released").await;
    let not_found = json!({"detail": "Not found."});
    let r = api
        .post(
            &format!("/_mock/paywise/claims/{id}/advance"),
            Via::Default,
            json!({"to": "under_review"}),
        )
        .await;
    assert_eq!((r.status, r.body), (404, not_found.clone()));
    let r = api
        .post(
            &format!("/_mock/paywise/claims/{id}/advance/"),
            Via::Default,
            json!({"to": "under_review"}),
        )
        .await;
    assert_eq!((r.status, r.body), (404, not_found.clone()));
    assert_eq!(
        api.get(&format!("/v1/claims/{id}/"), Via::Default).await.body["submission_state"],
        "released"
    );
    for path in [
        "/_mock/worlds",
        "/_mock/journal",
        "/_mock/snapshot",
        "/_mock",
        "/_mock/faults",
    ] {
        let r = api.send(Method::GET, path, Via::Default, None, None).await;
        assert_eq!((r.status, &r.body), (404, &not_found), "{path}");
    }
    let r = api
        .send(
            Method::POST,
            "/_mock/worlds",
            Via::Default,
            None,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // The prefix is just an unknown path.
    let r = api.get("/v1/claims/", Via::Prefix("x")).await;
    assert_eq!((r.status, r.body), (404, not_found.clone()));
    // The header is ignored: what one "world" writes, every request sees.
    api.claim(Via::Header("x"), api.m.token(), "no-worlds").await;
    let seen = api.get("/v1/debtors/?your_reference=no-worlds", Via::Default).await;
    assert_eq!(seen.body["count"], 1);
    let seen = api.get("/v1/debtors/?your_reference=no-worlds", Via::Header("y")).await;
    assert_eq!(seen.body["count"], 1);
    // Not even an invalid name is looked at.
    let seen = api
        .get(
            "/v1/debtors/?your_reference=no-worlds",
            Via::Header("not a valid name!"),
        )
        .await;
    assert_eq!((seen.status, seen.body["count"].clone()), (200, json!(1)));
    // And nothing was journaled.
    assert!(api.m.received_requests().is_empty());
}
