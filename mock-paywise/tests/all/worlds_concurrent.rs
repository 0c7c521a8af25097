//! 64 worlds driven at once: each of 64 tasks on one multi-thread runtime names its own world
//! (`w00`..`w63`, half by the `X-Mock-World` header, half by the `/_mock/w/{name}` base-URL
//! prefix), writes records with references unique to it and reads every page back. Each must see
//! exactly the fixtures plus its own records, the default world must not move, the mock must list
//! 65 worlds, and each world's journal must hold that world's requests alone. Once against the
//! paywise mock, once against the Payt mock.

use std::collections::BTreeSet;
use std::sync::Arc;

use mock_payt::MockPayt;
use mock_paywise::MockPaywise;
use serde_json::{Value, json};

const WORLDS: usize = 64;
/// Records of each kind every world writes.
const RECORDS: usize = 3;

fn name(i: usize) -> String {
    format!("w{i:02}")
}

/// How task `i` reaches its world: even ones by header, odd ones by prefix.
fn by_header(i: usize) -> bool {
    i.is_multiple_of(2)
}

/// A client of one world.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    /// The base URL (with the prefix, for a prefix client).
    base: String,
    /// The world header to send, if any.
    header: Option<String>,
    token: String,
}

impl Client {
    fn new(http: &reqwest::Client, uri: &str, token: &str, world: Option<(usize, bool)>) -> Self {
        let (base, header) = match world {
            None => (uri.to_string(), None),
            Some((i, true)) => (uri.to_string(), Some(name(i))),
            Some((i, false)) => (format!("{uri}/_mock/w/{}", name(i)), None),
        };
        Self {
            http: http.clone(),
            base,
            header,
            token: token.to_string(),
        }
    }

    /// Sends to `url` (absolute) or `path` (on the base URL); status and JSON.
    async fn send(&self, method: reqwest::Method, url_or_path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = if url_or_path.starts_with("http") {
            url_or_path.to_string()
        } else {
            format!("{}{url_or_path}", self.base)
        };
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(h) = &self.header {
            req = req.header("x-mock-world", h);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// `(id, reference)` of a record.
type Key = (String, Option<String>);

fn key(v: &Value, reference: &str) -> Key {
    (
        v["id"].as_str().map_or_else(|| v["id"].to_string(), str::to_string),
        v[reference].as_str().map(str::to_string),
    )
}

/// How many requests a task sent, and what the journal must show of its world.
struct Outcome {
    world: String,
    requests: usize,
}

// ---------------------------------------------------------------------------------------------
// paywise
// ---------------------------------------------------------------------------------------------

/// Every record of a paywise list, following `next`; the number of requests it took.
async fn paywise_walk(c: &Client, path: &str) -> (BTreeSet<Key>, usize) {
    let mut url = format!("{}{path}", c.base);
    let mut out = BTreeSet::new();
    let mut requests = 0;
    loop {
        let (s, page) = c.send(reqwest::Method::GET, &url, None).await;
        requests += 1;
        assert_eq!(s, 200, "{url}: {page}");
        for r in page["results"].as_array().expect("results") {
            assert!(out.insert(key(r, "your_reference")), "{url}: a record twice: {r}");
        }
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("{}/", c.base)), "{next} leaves {}", c.base);
                url = next.to_string();
            }
            None => break,
        }
        assert!(requests < 100, "the walk of {path} does not end");
    }
    (out, requests)
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

async fn paywise_task(c: Client, i: usize, debtors0: Arc<BTreeSet<Key>>, claims0: Arc<BTreeSet<Key>>) -> Outcome {
    let w = name(i);
    let mut requests = 0;
    let mut debtors = (*debtors0).clone();
    let mut claims = (*claims0).clone();
    for k in 0..RECORDS {
        let (s, d) = c
            .send(
                reqwest::Method::POST,
                "/v1/debtors/",
                Some(&debtor_body(&format!("{w}-d{k}"))),
            )
            .await;
        assert_eq!(s, 201, "{w}: {d}");
        let (s, cl) = c
            .send(
                reqwest::Method::POST,
                "/v1/claims/",
                Some(&claim_body(&d["id"], &format!("{w}-c{k}"))),
            )
            .await;
        assert_eq!(s, 201, "{w}: {cl}");
        requests += 2;
        assert!(debtors.insert(key(&d, "your_reference")));
        assert!(claims.insert(key(&cl, "your_reference")));
    }
    let (seen, n) = paywise_walk(&c, "/v1/debtors/?limit=50").await;
    requests += n;
    assert_eq!(seen, debtors, "world {w}: debtors");
    let (seen, n) = paywise_walk(&c, "/v1/claims/?limit=50").await;
    requests += n;
    assert_eq!(seen, claims, "world {w}: claims");
    Outcome { world: w, requests }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_paywise_worlds_driven_at_once_stay_apart() {
    let m = MockPaywise::test().max_worlds(WORLDS + 1).start().await;
    let http = reqwest::Client::new();
    let default = Client::new(&http, &m.uri(), m.token(), None);
    let (debtors0, n0) = paywise_walk(&default, "/v1/debtors/?limit=100").await;
    let (claims0, n1) = paywise_walk(&default, "/v1/claims/?limit=100").await;
    assert!(!debtors0.is_empty() && !claims0.is_empty(), "fixtures");
    let default_data = m.snapshot()["data"].clone();
    let (debtors0, claims0) = (Arc::new(debtors0), Arc::new(claims0));

    let tasks: Vec<_> = (0..WORLDS)
        .map(|i| {
            let c = Client::new(&http, &m.uri(), m.token(), Some((i, by_header(i))));
            tokio::spawn(paywise_task(c, i, debtors0.clone(), claims0.clone()))
        })
        .collect();
    // Meanwhile the default world is read and stays as it was.
    let (d, n2) = paywise_walk(&default, "/v1/debtors/?limit=100").await;
    assert_eq!(d, *debtors0);
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("a task that did not panic"));
    }
    let (d, n3) = paywise_walk(&default, "/v1/debtors/?limit=100").await;
    let (c, n4) = paywise_walk(&default, "/v1/claims/?limit=100").await;
    assert_eq!(
        (d, c),
        ((*debtors0).clone(), (*claims0).clone()),
        "the default world moved"
    );
    assert_eq!(m.snapshot()["data"], default_data, "the default world's data moved");

    check_worlds_and_journals(&http, &m.uri(), &outcomes, n0 + n1 + n2 + n3 + n4).await;
}

/// The mock lists the default world and the 64; each world's journal holds its own requests alone
/// (the default one: `default_requests`, the reads of this test).
async fn check_worlds_and_journals(http: &reqwest::Client, uri: &str, outcomes: &[Outcome], default_requests: usize) {
    let worlds: Value = http
        .get(format!("{uri}/_mock/worlds"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let names: BTreeSet<String> = worlds["worlds"]
        .as_array()
        .expect("worlds")
        .iter()
        .map(|w| w["name"].as_str().expect("name").to_string())
        .collect();
    let mut expected: BTreeSet<String> = (0..WORLDS).map(name).collect();
    expected.insert("default".into());
    assert_eq!(names.len(), WORLDS + 1);
    assert_eq!(names, expected);

    let journal = |world: String| async move {
        let j: Value = http
            .get(format!("{uri}/_mock/journal"))
            .header("x-mock-world", &world)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        assert_eq!(j["world"], world.as_str());
        j["entries"].as_array().expect("entries").clone()
    };
    for o in outcomes {
        let entries = journal(o.world.clone()).await;
        assert_eq!(entries.len(), o.requests, "world {}: one entry per request", o.world);
        for e in &entries {
            assert_eq!(e["world"], o.world.as_str(), "{e}");
            assert!(
                !e["request"]["path"].as_str().expect("path").starts_with("/_mock/"),
                "{e}"
            );
        }
        let seen = world_names_in(&Value::Array(entries).to_string());
        assert_eq!(seen, BTreeSet::from([o.world.clone()]), "world {}'s journal", o.world);
    }
    let entries = journal("default".into()).await;
    assert_eq!(entries.len(), default_requests, "the default world's journal");
    assert_eq!(world_names_in(&Value::Array(entries).to_string()), BTreeSet::new());
}

/// Every `wNN` that starts a reference `wNN-...` in `text` (one pass).
fn world_names_in(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(3))
        .filter(|&i| b[i] == b'w' && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit() && b[i + 3] == b'-')
        .filter(|&i| i == 0 || !b[i - 1].is_ascii_alphanumeric())
        .map(|i| text[i..i + 3].to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Payt
// ---------------------------------------------------------------------------------------------

/// Every debtor of administration 81, following the cursor; the number of requests it took.
async fn payt_walk(c: &Client) -> (BTreeSet<Key>, usize) {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut requests = 0;
    loop {
        // Only the two fields compared: rendering whole debtors is most of the cost.
        let mut path =
            "/v1/debtors?administration_id=81&per_page=50&fields=%7B%22only%22%3A%5B%22id%22%2C%22debtor_number%22%5D%7D"
                .to_string();
        if let Some(at) = &cursor {
            path.push_str(&format!("&cursor={at}"));
        }
        let (s, page) = c.send(reqwest::Method::GET, &path, None).await;
        requests += 1;
        assert_eq!(s, 200, "{path}: {page}");
        for r in page["data"].as_array().expect("data") {
            assert!(out.insert(key(r, "debtor_number")), "a record twice: {r}");
        }
        cursor = match &page["pagination"]["cursor"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        if cursor.is_none() {
            break;
        }
        assert!(requests < 100, "the walk does not end");
    }
    (out, requests)
}

async fn payt_task(c: Client, i: usize, debtors0: Arc<BTreeSet<Key>>) -> Outcome {
    let w = name(i);
    let records: Vec<Value> = (0..RECORDS)
        .map(|k| json!({"debtor_number": format!("{w}-{k}"), "name": format!("{w} debtor {k}"), "debtor_identifier": format!("{w}-id-{k}")}))
        .collect();
    let (s, out) = c
        .send(
            reqwest::Method::POST,
            "/v1/debtors",
            Some(&json!({"administration_id": 81, "debtors": records})),
        )
        .await;
    assert_eq!((s, out["count"].clone()), (201, json!(RECORDS)), "{w}: {out}");
    let mut requests = 1;
    let (seen, n) = payt_walk(&c).await;
    requests += n;
    let own: BTreeSet<Key> = seen.difference(&debtors0).cloned().collect();
    let numbers: BTreeSet<Option<String>> = own.iter().map(|(_, n)| n.clone()).collect();
    let expected: BTreeSet<Option<String>> = (0..RECORDS).map(|k| Some(format!("{w}-{k}"))).collect();
    assert_eq!(numbers, expected, "world {w}: the debtors beyond the fixtures");
    assert!(debtors0.is_subset(&seen), "world {w}: a fixture debtor is missing");
    assert_eq!(seen.len(), debtors0.len() + RECORDS);
    Outcome { world: w, requests }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_payt_worlds_driven_at_once_stay_apart() {
    let m = MockPayt::test().max_worlds(WORLDS + 1).start().await;
    let http = reqwest::Client::new();
    let default = Client::new(&http, &m.uri(), m.token(), None);
    let (debtors0, n0) = payt_walk(&default).await;
    assert!(!debtors0.is_empty(), "fixtures");
    let default_data = m.snapshot()["data"].clone();
    let debtors0 = Arc::new(debtors0);

    let tasks: Vec<_> = (0..WORLDS)
        .map(|i| {
            let c = Client::new(&http, &m.uri(), m.token(), Some((i, by_header(i))));
            tokio::spawn(payt_task(c, i, debtors0.clone()))
        })
        .collect();
    let (d, n1) = payt_walk(&default).await;
    assert_eq!(d, *debtors0);
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("a task that did not panic"));
    }
    let (d, n2) = payt_walk(&default).await;
    assert_eq!(d, *debtors0, "the default world moved");
    assert_eq!(m.snapshot()["data"], default_data, "the default world's data moved");

    check_worlds_and_journals(&http, &m.uri(), &outcomes, n0 + n1 + n2).await;
}
