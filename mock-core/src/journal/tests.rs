use std::collections::VecDeque;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::*;
use crate::testing;

const TOKEN: &str = "payt_test_token";

/// A router behind a middleware that journals every exchange, as the dispatcher does.
fn app(journal: Arc<Journal>) -> Router {
    Router::new()
        .route(
            "/v1/echo",
            post(|body: Bytes| async move { format!("got {} bytes", body.len()) }),
        )
        .route("/big", get(|| async { "x".repeat(100) }))
        .route(
            "/stream",
            post(|req: Request| async move {
                let mut body = req.into_body();
                let (mut frames, mut bytes) = (0, 0);
                while let Some(frame) = body.frame().await {
                    let frame = frame.expect("frame");
                    if let Some(data) = frame.data_ref() {
                        frames += 1;
                        bytes += data.len();
                    }
                }
                format!("{frames} frames, {bytes} bytes")
            }),
        )
        .route("/ignore", post(|| async { StatusCode::UNAUTHORIZED }))
        .layer(middleware::from_fn(move |mut req: Request, next: Next| {
            let journal = journal.clone();
            async move {
                let pending = journal.begin(&mut req, testing::epoch(), "default");
                let res = next.run(req).await;
                pending.finish(res, None).await
            }
        }))
}

async fn send(app: &Router, req: Request) -> (StatusCode, Bytes) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
    (status, body)
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request {
    let mut b = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(body.into()).expect("request")
}

/// Records one exchange directly: the "handler" reads the whole body and answers `status` with
/// `res_headers` and `res_body`.
async fn record(
    journal: &Journal,
    req: Request,
    at: &str,
    status: u16,
    res_headers: &[(&str, &str)],
    res_body: impl Into<Body>,
) -> Response {
    let mut req = req;
    let pending = journal.begin(&mut req, testing::at(at), "default");
    axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .expect("request body");
    let mut res = Response::new(res_body.into());
    *res.status_mut() = StatusCode::from_u16(status).expect("status");
    for (name, value) in res_headers {
        res.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    pending.finish(res, None).await
}

async fn simple(journal: &Journal, method: &str, uri: &str, status: u16, at: &str) {
    record(journal, request(method, uri, &[], Body::empty()), at, status, &[], "").await;
}

fn only(journal: &Journal) -> Entry {
    let entries = journal.list(&Filter::default()).expect("list");
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().expect("one entry")
}

fn to_json(entry: &Entry) -> Value {
    serde_json::to_value(entry).expect("serializable")
}

// ----- recording ------------------------------------------------------------------------------

#[tokio::test]
async fn a_router_exchange_is_recorded_and_a_large_body_is_cut_while_the_handler_gets_it_all() {
    let journal = Arc::new(Journal::new(10, 16));
    let app = app(journal.clone());

    let upload = "a".repeat(100);
    let (status, body) = send(
        &app,
        request(
            "POST",
            "/v1/echo?a=1",
            &[("content-type", "text/plain")],
            upload.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"got 100 bytes", "the handler received the whole body");

    let e = only(&journal);
    assert_eq!(e.id, 1);
    assert_eq!(e.request.body.bytes(), &upload.as_bytes()[..16]);
    assert!(e.request.body.truncated());
    assert_eq!(e.request.body.size(), 100);
    assert_eq!(e.response.body.text(), Some("got 100 bytes"));
    assert!(!e.response.body.truncated());

    let v = to_json(&e);
    assert_eq!(v["id"], 1);
    assert_eq!(v["world"], "default");
    assert_eq!(v["at"], "2026-11-01T09:00:00.000Z");
    assert!(v["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{v}");
    assert_eq!(v["request"]["method"], "POST");
    assert_eq!(v["request"]["path"], "/v1/echo");
    assert_eq!(v["request"]["query"], "a=1");
    assert_eq!(v["request"]["url"], "/v1/echo?a=1");
    assert_eq!(v["request"]["headers"], json!([["content-type", "text/plain"]]));
    assert_eq!(v["request"]["body"], "a".repeat(16));
    assert_eq!(v["request"]["body_encoding"], "utf8");
    assert_eq!(v["request"]["body_size"], 100);
    assert_eq!(v["request"]["body_truncated"], true);
    assert_eq!(v["response"]["status"], 200);
    assert_eq!(v["response"]["body"], "got 100 bytes");
    assert_eq!(v["response"]["body_size"], 13);
    assert_eq!(v["response"]["body_truncated"], false);
    assert_eq!(v["response"]["error"], Value::Null);
    assert_eq!(v["fault"], Value::Null);

    // A large answer reaches the client whole and is cut in the journal.
    let (_, body) = send(&app, request("GET", "/big", &[], Body::empty())).await;
    assert_eq!(body.len(), 100);
    let e = journal.get(2).expect("second entry");
    assert_eq!(to_json(&e)["request"]["query"], Value::Null);
    assert_eq!(to_json(&e)["request"]["body"], Value::Null);
    assert_eq!(e.response.body.bytes().len(), 16);
    assert_eq!(e.response.body.size(), 100);
    assert!(e.response.body.truncated());
}

/// A body that yields its chunks as separate frames, as a streaming upload arrives.
struct Chunks(VecDeque<Bytes>);

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test]
async fn a_streamed_upload_goes_through_frame_by_frame() {
    let journal = Arc::new(Journal::new(10, 10));
    let app = app(journal.clone());
    let chunks = Chunks(
        ["0123456", "789abcd", "efghijk"]
            .map(|s| Bytes::from_static(s.as_bytes()))
            .into(),
    );
    let (_, body) = send(&app, request("POST", "/stream", &[], Body::new(chunks))).await;
    assert_eq!(&body[..], b"3 frames, 21 bytes");
    let e = only(&journal);
    assert_eq!(e.request.body.text(), Some("0123456789"));
    assert_eq!(e.request.body.size(), 21);
    assert!(e.request.body.truncated());
}

#[tokio::test]
async fn a_body_the_handler_did_not_read_counts_as_truncated_at_its_declared_length() {
    let journal = Arc::new(Journal::new(10, 1024));
    let app = app(journal.clone());
    let (status, _) = send(&app, request("POST", "/ignore", &[("content-length", "5")], "hello")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let e = only(&journal);
    assert_eq!(e.response.status, 401);
    assert_eq!(e.request.body.size(), 5);
    assert!(e.request.body.truncated());
}

#[tokio::test]
async fn an_answer_that_fails_fails_for_the_client_too_after_the_same_bytes_and_the_entry_says_why() {
    let journal = Journal::new(10, 1024);
    let failing = Body::new(http_body_util::Limited::new(
        http_body_util::Full::new(Bytes::from_static(b"too long")),
        2,
    ));
    let res = record(
        &journal,
        request("GET", "/x", &[], Body::empty()),
        testing::EPOCH,
        502,
        &[("content-length", "8")],
        failing,
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(res.headers()[CONTENT_LENGTH], "8", "the head is the answer's");
    // What was read goes on to the client, then the body fails as the answer's did (a fault that
    // cuts the connection still cuts it when the exchange is journaled).
    let mut body = res.into_body();
    let mut got = Vec::new();
    let mut failed = false;
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        match frame {
            Ok(f) => got.extend_from_slice(f.data_ref().map_or(&[][..], |d| &d[..])),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body fails");
    let e = only(&journal);
    assert_eq!(e.response.body.bytes().as_ref(), &got[..]);
    assert_eq!(e.response.status, 502);
    assert!(
        e.response
            .error
            .as_deref()
            .is_some_and(|m| m.contains("could not be read")),
        "{:?}",
        e.response.error
    );
}

#[tokio::test]
async fn the_fault_applied_is_recorded_and_exported() {
    let journal = Journal::new(10, 64);
    let mut req = request("GET", "/v1/invoices", &[], Body::empty());
    let pending = journal.begin(&mut req, testing::epoch(), "w1");
    let res = pending
        .finish(
            StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Some("flaky-invoices".into()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let e = only(&journal);
    assert_eq!(to_json(&e)["fault"], "flaky-invoices");
    assert_eq!(to_json(&e)["world"], "w1");
    let har = journal.har(&Filter::default(), "1").expect("har");
    assert_eq!(har["log"]["entries"][0]["_fault"], "flaky-invoices");
    assert_eq!(har["log"]["entries"][0]["_world"], "w1");
}

#[tokio::test]
async fn ids_grow_from_one_the_oldest_entry_goes_and_clear_does_not_reuse_ids() {
    let journal = Journal::new(2, 64);
    assert_eq!(journal.capacity(), 2);
    assert!(journal.is_empty());
    for path in ["/a", "/b", "/c"] {
        simple(&journal, "GET", path, 200, testing::EPOCH).await;
    }
    let ids: Vec<u64> = journal
        .list(&Filter::default())
        .expect("list")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [2, 3]);
    assert_eq!(journal.len(), 2);
    assert!(journal.get(1).is_none());
    assert_eq!(journal.get(3).map(|e| e.request.path), Some("/c".to_string()));
    journal.clear();
    assert_eq!(journal.len(), 0);
    simple(&journal, "GET", "/d", 200, testing::EPOCH).await;
    assert_eq!(only(&journal).id, 4);
}

#[tokio::test]
async fn a_journal_of_capacity_zero_records_nothing_and_passes_the_exchange_through() {
    let journal = Journal::new(0, 64);
    let res = record(
        &journal,
        request("POST", "/a", &[], "body"),
        testing::EPOCH,
        201,
        &[],
        "made",
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
    assert_eq!(&body[..], b"made");
    assert!(journal.is_empty());
}

#[tokio::test]
async fn text_is_cut_on_a_character_boundary_and_binary_is_base64() {
    let journal = Journal::new(10, 5);
    // "ééé" is six bytes; five would end inside the third é.
    record(
        &journal,
        request("POST", "/t", &[("content-type", "text/plain")], "ééé"),
        testing::EPOCH,
        200,
        &[("content-type", "application/octet-stream")],
        vec![0xff_u8, 0x00, 0x10],
    )
    .await;
    let e = only(&journal);
    assert_eq!(e.request.body.text(), Some("éé"));
    assert_eq!(e.request.body.size(), 6);
    let v = to_json(&e);
    assert_eq!(v["request"]["body_encoding"], "utf8");
    assert_eq!(v["response"]["body_encoding"], "base64");
    assert_eq!(v["response"]["body"], BASE64.encode([0xff_u8, 0x00, 0x10]));
}

// ----- redaction ------------------------------------------------------------------------------

#[tokio::test]
async fn no_entry_holds_a_token_however_it_was_sent() {
    let journal = Journal::new(10, 1024);
    let basic = BASE64.encode(format!("user:{TOKEN}"));
    let bearer = format!("Bearer {TOKEN}");
    let basic_header = format!("Basic {basic}");
    let json_body = format!(r#"{{"access_token": "{TOKEN}", "scope": "read"}}"#);
    let form_body = format!("grant_type=client_credentials&client_secret={TOKEN}&user%5Bpassword%5D={TOKEN}");
    let query = format!("/v1/invoices?page=2&access_token={TOKEN}&API-KEY={TOKEN}");
    let answer = format!(r#"{{"data":{{"token":"{TOKEN}","refresh_token":"{TOKEN}"}},"id":1}}"#);
    let cookie = format!("session={TOKEN}");
    let exchanges = [
        request("GET", "/v1/invoices", &[("authorization", &bearer)], Body::empty()),
        request(
            "GET",
            "/v1/invoices",
            &[("Authorization", &basic_header)],
            Body::empty(),
        ),
        request(
            "POST",
            "/oauth/token",
            &[("content-type", "application/json")],
            json_body.clone(),
        ),
        request("GET", &query, &[], Body::empty()),
        request(
            "POST",
            "/oauth/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            form_body.clone(),
        ),
        request(
            "GET",
            "/x",
            &[
                ("cookie", &cookie),
                ("x-api-key", TOKEN),
                ("proxy-authorization", &bearer),
            ],
            Body::empty(),
        ),
    ];
    for req in exchanges {
        record(
            &journal,
            req,
            testing::EPOCH,
            200,
            &[("content-type", "application/json"), ("set-cookie", &cookie)],
            answer.clone(),
        )
        .await;
    }
    let entries = journal.list(&Filter::default()).expect("list");
    assert_eq!(entries.len(), 6);
    let all = serde_json::to_string(&entries).expect("json");
    let har = journal.har(&Filter::default(), "0.1.0").expect("har").to_string();
    for text in [&all, &har] {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains(&basic), "{text}");
    }

    let header = |e: &Entry, name: &str| {
        e.request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header(&entries[0], "authorization").as_deref(),
        Some("Bearer [redacted]")
    );
    assert_eq!(
        header(&entries[1], "authorization").as_deref(),
        Some("Basic [redacted]")
    );
    assert_eq!(
        entries[2].request.body.text(),
        Some(r#"{"access_token":"[redacted]","scope":"read"}"#)
    );
    assert_eq!(
        entries[3].request.url,
        "/v1/invoices?page=2&access_token=[redacted]&API-KEY=[redacted]"
    );
    assert_eq!(
        entries[4].request.body.text(),
        Some("grant_type=client_credentials&client_secret=[redacted]&user%5Bpassword%5D=[redacted]")
    );
    for name in ["cookie", "x-api-key", "proxy-authorization"] {
        assert_eq!(header(&entries[5], name).as_deref(), Some(REDACTED), "{name}");
    }
    assert_eq!(
        entries[0].response.headers,
        [
            ("content-type".to_string(), "application/json".to_string()),
            ("set-cookie".to_string(), REDACTED.to_string())
        ]
    );
    assert_eq!(
        entries[0].response.body.text(),
        Some(r#"{"data":{"token":"[redacted]","refresh_token":"[redacted]"},"id":1}"#)
    );
}

#[test]
fn authorization_keeps_any_scheme_and_nothing_else() {
    assert_eq!(redact_header("authorization", "Token abc"), "Token [redacted]");
    assert_eq!(redact_header("authorization", "bearer  abc"), "bearer [redacted]");
    assert_eq!(redact_header("authorization", "abc"), REDACTED);
    assert_eq!(redact_header("authorization", ""), REDACTED);
    assert_eq!(redact_header("content-type", "text/plain"), "text/plain");
}

#[test]
fn urls_in_headers_keep_everything_but_their_secrets() {
    assert_eq!(
        redact_header("location", "/v1/claims/?limit=1&access_token=abc#top"),
        "/v1/claims/?limit=1&access_token=[redacted]#top"
    );
    assert_eq!(
        redact_header("referer", "http://h/x?token=t&a=1"),
        "http://h/x?token=[redacted]&a=1"
    );
    assert_eq!(
        redact_header("content-location", "/v1/claims/?limit=1"),
        "/v1/claims/?limit=1"
    );
    assert_eq!(redact_header("location", "/v1/claims/"), "/v1/claims/");
}

#[test]
fn secrets_a_vendor_hands_out_are_redacted_where_the_body_repeats_them() {
    // Payt's sign-up answer: a `*_token` member, a link that embeds it, an OAuth code beside its
    // grant type.
    let body = br#"{"user":{"sign_up_token":"5b15b8c7b678","sign_up_url":"http://h/app/sign_up/5b15b8c7b678","name":"Eva"},"access_grant":{"code":"b070c6403abd","grant_type":"authorization_code"},"error":{"code":"not_found"}}"#;
    let out = redact_body(body, Some("application/json"));
    assert_eq!(
        std::str::from_utf8(&out).expect("utf8"),
        r#"{"user":{"sign_up_token":"[redacted]","sign_up_url":"http://h/app/sign_up/[redacted]","name":"Eva"},"access_grant":{"code":"[redacted]","grant_type":"authorization_code"},"error":{"code":"not_found"}}"#
    );
    // Short secret values are not looked for elsewhere (they would match harmless text).
    let out = redact_body(br#"{"token":"abc","note":"abcdef"}"#, Some("application/json"));
    assert_eq!(&out[..], br#"{"token":"[redacted]","note":"abcdef"}"#);
    // An OAuth token request as a form.
    assert_eq!(
        &redact_body(b"grant_type=authorization_code&code=xyz&redirect_uri=u", None)[..],
        b"grant_type=authorization_code&code=[redacted]&redirect_uri=u"
    );
    assert_eq!(
        redact_query("code=NL01&page=2"),
        "code=NL01&page=2",
        "a code without a grant"
    );
    // Names that end like secrets.
    assert_eq!(
        redact_query("csrf-token=a&id_TOKEN=b&db_password=c&tokens=d&my_secret=e&_token=f"),
        "csrf-token=[redacted]&id_TOKEN=[redacted]&db_password=[redacted]&tokens=d&my_secret=[redacted]&_token=[redacted]"
    );
}

#[test]
fn json_is_redacted_at_any_depth_and_left_byte_for_byte_when_there_is_nothing_to_hide() {
    let body = br#"{ "a": {"Password": "x", "n": 1},
        "list": [{"client_secret": {"nested": "y"}}, {"KEY": 42}],
        "token": null, "secret": "", "api-key": "z" }"#;
    let out = redact_body(body, Some("application/vnd.api+json"));
    assert_eq!(
        std::str::from_utf8(&out).expect("utf8"),
        r#"{"a":{"Password":"[redacted]","n":1},"list":[{"client_secret":"[redacted]"},{"KEY":"[redacted]"}],"token":null,"secret":"","api-key":"[redacted]"}"#
    );
    let harmless = b"{ \"amount\" : \"10.00\",\n  \"keys\": [\"token\"] }";
    assert!(matches!(
        redact_body(harmless, Some("application/json")),
        Cow::Borrowed(_)
    ));
    // Without a content type, a body that looks like JSON is treated as JSON.
    let sniffed = redact_body(br#"[{"secret":"s"}]"#, None);
    assert_eq!(&sniffed[..], br#"[{"secret":"[redacted]"}]"#);
}

#[test]
fn json_that_does_not_parse_is_redacted_lexically() {
    let cases: [(&[u8], &[u8]); 5] = [
        // Cut inside the secret's value.
        (
            br#"{"id": 1, "access_token": "payt_test_tok"#,
            br#"{"id": 1, "access_token": "[redacted]""#,
        ),
        // Cut inside a nested secret value.
        (br#"{"secret": {"a": [1, {"b": "payt_te"#, br#"{"secret": "[redacted]""#),
        // A complete secret, then garbage; escaped quotes and a secret-looking value left alone.
        (
            br#"{"note": "say \"token\": no", "Token" :12, "x": "token", tail"#,
            br#"{"note": "say \"token\": no", "Token" :"[redacted]", "x": "token", tail"#,
        ),
        // Cut right after the colon: nothing to hide.
        (br#"{"password":"#, br#"{"password":"#),
        (br#"{"password": null, "#, br#"{"password": null, "#),
    ];
    for (input, expected) in cases {
        let out = redact_body(input, Some("application/json"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(expected),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[tokio::test]
async fn a_token_in_a_truncated_json_body_is_redacted() {
    let body = format!(r#"{{"grant_type":"client_credentials","access_token":"{TOKEN}_and_more"}}"#);
    let cut = body.find(TOKEN).expect("token") + 10;
    let journal = Journal::new(10, cut);
    record(
        &journal,
        request(
            "POST",
            "/oauth/token",
            &[("content-type", "application/json")],
            body.clone(),
        ),
        testing::EPOCH,
        200,
        &[],
        "",
    )
    .await;
    let e = only(&journal);
    assert!(e.request.body.truncated());
    assert_eq!(
        e.request.body.text(),
        Some(r#"{"grant_type":"client_credentials","access_token":"[redacted]""#)
    );
}

#[test]
fn forms_and_queries_redact_secret_names_by_their_last_segment() {
    assert_eq!(
        redact_query("a=1&token[]=t&tokens=t&user[Secret_Key]=s&key&password=&x=token"),
        "a=1&token[]=[redacted]&tokens=t&user[Secret_Key]=[redacted]&key&password=&x=token"
    );
    assert_eq!(redact_query("page=2"), "page=2");
    // Other kinds of bodies are kept as they are.
    let xml = b"<password>hunter2</password>";
    assert_eq!(&redact_body(xml, Some("application/xml"))[..], xml);
    // A body without a content type that reads as a form is redacted as one.
    assert_eq!(&redact_body(b"apikey=1&b=2", None)[..], b"apikey=[redacted]&b=2");
}

// ----- filters --------------------------------------------------------------------------------

async fn sample() -> Journal {
    let journal = Journal::new(100, 1024);
    simple(&journal, "GET", "/v1/invoices?page=1", 200, "2026-11-01T09:00:00Z").await;
    simple(&journal, "POST", "/v1/invoices", 201, "2026-11-01T09:01:00Z").await;
    simple(&journal, "GET", "/v1/invoices/42", 404, "2026-11-01T09:02:00Z").await;
    simple(&journal, "GET", "/v1/debtors", 422, "2026-11-01T09:03:00Z").await;
    simple(&journal, "DELETE", "/v1/invoices/42", 204, "2026-11-01T09:04:00Z").await;
    journal
}

fn filter(query: &str) -> Result<Filter, String> {
    let uri: Uri = format!("/?{query}").parse().map_err(|e| format!("{e}"))?;
    Query::<Filter>::try_from_uri(&uri)
        .map(|Query(f)| f)
        .map_err(|e| e.body_text())
}

fn ids(journal: &Journal, query: &str) -> Vec<u64> {
    let f = filter(query).expect("valid filter");
    journal.list(&f).expect("valid").iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn filters_select_by_method_path_status_time_and_keep_the_newest_with_a_limit() {
    let j = sample().await;
    assert_eq!(ids(&j, ""), [1, 2, 3, 4, 5]);
    assert_eq!(ids(&j, "method=get"), [1, 3, 4]);
    assert_eq!(ids(&j, "path=/v1/invoices"), [1, 2]);
    assert_eq!(ids(&j, "path=/v1/invoices/*"), [3, 5]);
    assert_eq!(ids(&j, "path=/v1/**"), [1, 2, 3, 4, 5]);
    assert_eq!(ids(&j, "status=4xx"), [3, 4]);
    assert_eq!(ids(&j, "status=4XX&method=GET&path=/v1/invoices/*"), [3]);
    assert_eq!(ids(&j, "status=201"), [2]);
    assert_eq!(ids(&j, "status=2xx&limit=2"), [2, 5]);
    assert_eq!(
        ids(&j, "since=2026-11-01T09:01:00Z&until=2026-11-01T09:03:00Z"),
        [2, 3, 4]
    );
    // A `+` offset that the query string turned into a space still reads.
    assert_eq!(ids(&j, "since=2026-11-01T10:03:00+01:00"), [4, 5]);
    assert_eq!(ids(&j, "since=2026-11-01T10%3A03%3A00%2B01%3A00"), [4, 5]);
    assert_eq!(ids(&j, "limit=1"), [5]);
}

#[tokio::test]
async fn bad_filters_say_what_to_fix() {
    let j = sample().await;
    let err = |q: &str| match filter(q).and_then(|f| j.list(&f).map(|_| ())) {
        Ok(()) => panic!("{q} was accepted"),
        Err(e) => e,
    };
    let e = err("status=abc");
    assert!(e.contains("neither a status code") && e.contains("4xx"), "{e}");
    let e = err("status=700");
    assert!(e.contains("100 to 599"), "{e}");
    let e = err("status=6xx");
    assert!(e.contains("neither a status code"), "{e}");
    let e = err("limit=ten");
    assert!(e.contains("limit must be a whole number"), "{e}");
    let e = err("limit=0");
    assert!(e.contains("limit must be at least 1"), "{e}");
    let e = err("since=yesterday");
    assert!(e.contains("since must be an RFC 3339 timestamp"), "{e}");
    let e = err("since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z");
    assert!(e.contains("swap them"), "{e}");
    let e = err("stauts=404");
    assert!(e.contains("unknown field `stauts`"), "{e}");
    let e = err("path=v1/invoices");
    assert!(e.contains("must start with /"), "{e}");
    let e = err("method=G%20T");
    assert!(e.contains("not an HTTP method"), "{e}");
}

// ----- verify ---------------------------------------------------------------------------------

fn verify(json: Value) -> Verify {
    serde_json::from_value(json).expect("valid verify")
}

#[tokio::test]
async fn verify_counts_matching_exchanges() {
    let j = sample().await;
    simple(&j, "POST", "/v1/invoices?dry_run=true", 201, "2026-11-01T09:05:00Z").await;

    let v = j
        .verify(&verify(json!({"method": "post", "path": "/v1/invoices", "count": 2})))
        .expect("valid");
    assert!(v.ok);
    assert_eq!((v.count, v.expected.as_str()), (2, "exactly 2"));
    assert!(v.near_misses.is_empty());

    let v = j.verify(&Verify::default()).expect("valid");
    assert!(v.ok && v.count == 6 && v.expected == "at least 1");

    let v = j
        .verify(&verify(json!({"query_contains": "dry_run=true", "status": 201})))
        .expect("valid");
    assert!(v.ok && v.count == 1);
    let v = j
        .verify(&verify(json!({"path": "/v1/**", "status": "4xx", "at_most": 2})))
        .expect("valid");
    assert!(v.ok && v.expected == "at most 2");

    // Too many: no near misses, they would not explain anything.
    let v = j
        .verify(&verify(json!({"method": "DELETE", "at_most": 0})))
        .expect("valid");
    assert!(!v.ok && v.count == 1 && v.near_misses.is_empty());
}

#[tokio::test]
async fn a_failed_verification_lists_the_closest_entries_and_how_they_differ() {
    let j = sample().await;
    let v = j
        .verify(&verify(json!({"method": "POST", "path": "/v1/invoice", "at_least": 1})))
        .expect("valid");
    assert!(!v.ok);
    assert_eq!(v.count, 0);
    assert_eq!(v.near_misses.len(), 3);
    let first = &v.near_misses[0];
    assert_eq!(first.entry.id, 2, "{:?}", v.near_misses);
    assert_eq!(first.differences, ["path /v1/invoices does not match /v1/invoice"]);
    let second = &v.near_misses[1];
    assert_eq!(second.entry.id, 1, "{:?}", v.near_misses);
    assert_eq!(second.entry.url, "/v1/invoices?page=1");
    assert_eq!(
        second.differences,
        [
            "method is GET, not POST",
            "path /v1/invoices does not match /v1/invoice"
        ]
    );
    let json = serde_json::to_value(&v).expect("json");
    assert_eq!(
        json["near_misses"][0]["entry"],
        json!({"id": 2, "method": "POST", "url": "/v1/invoices", "status": 201})
    );

    let v = j
        .verify(&verify(
            json!({"body_contains": "amount", "query_contains": "page=", "status": 500}),
        ))
        .expect("valid");
    assert!(!v.ok);
    let first = &v.near_misses[0];
    assert_eq!(first.entry.id, 1);
    assert_eq!(
        first.differences,
        [
            "status is 200, not 500",
            "there is no request body; expected one containing \"amount\""
        ]
    );
    // Ties go to the newest.
    let second = &v.near_misses[1];
    assert_eq!(second.entry.id, 5);
    assert_eq!(
        second.differences,
        [
            "status is 204, not 500",
            "there is no query string; expected one containing \"page=\"",
            "there is no request body; expected one containing \"amount\""
        ]
    );

    let v = j
        .verify(&verify(
            json!({"method": "GET", "path": "/v1/invoices", "query_contains": "page=3"}),
        ))
        .expect("valid");
    assert_eq!(v.near_misses[0].entry.id, 1);
    assert_eq!(
        v.near_misses[0].differences,
        ["query page=1 does not contain \"page=3\""]
    );
}

#[tokio::test]
async fn verify_finds_decoded_query_text_and_body_text() {
    let j = Journal::new(10, 1024);
    record(
        &j,
        request(
            "POST",
            "/v1/notes?q=a%20b",
            &[("content-type", "application/json")],
            r#"{"text":"hello"}"#,
        ),
        testing::EPOCH,
        201,
        &[],
        "",
    )
    .await;
    let v = j
        .verify(&verify(
            json!({"query_contains": "q=a b", "body_contains": "\"hello\""}),
        ))
        .expect("valid");
    assert!(v.ok, "{v:?}");
}

#[test]
fn bad_verifications_say_what_to_fix() {
    let both = verify(json!({"count": 1, "at_least": 2}));
    assert!(
        both.validate()
            .is_err_and(|e| e.contains("at most one of count, at_least and at_most"))
    );
    let e = serde_json::from_value::<Verify>(json!({"at_lest": 2})).expect_err("unknown field");
    assert!(e.to_string().contains("unknown field `at_lest`"), "{e}");
    let e = serde_json::from_value::<Verify>(json!({"count": -1})).expect_err("negative");
    assert!(e.to_string().contains("count must not be negative"), "{e}");
    let e = serde_json::from_value::<Verify>(json!({"count": "two"})).expect_err("text");
    assert!(e.to_string().contains("count must be a whole number"), "{e}");
    let ok = verify(json!({"count": "2", "status": 404, "path": null}));
    assert_eq!((ok.count, ok.status), (Some(2), Some(StatusFilter::Exact(404))));
    let e = serde_json::from_value::<Verify>(json!({"status": 42})).expect_err("bad status");
    assert!(e.to_string().contains("100 to 599"), "{e}");
}

#[test]
fn relative_distance_is_an_edit_distance_over_the_longer_length() {
    assert_eq!(relative_distance("abc", "abc"), 0.0);
    assert_eq!(relative_distance("kitten", "sitting"), 3.0 / 7.0);
    assert_eq!(relative_distance("", "ab"), 1.0);
}

// ----- HAR ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Int,
    Num,
    Arr,
    Obj,
}

/// That `v[field]` exists and is of `kind`, as HAR 1.2 requires.
fn require(v: &Value, at: &str, field: &str, kind: Kind) {
    let f = &v[field];
    let ok = match kind {
        Kind::Str => f.is_string(),
        Kind::Int => f.is_i64() || f.is_u64(),
        Kind::Num => f.is_number(),
        Kind::Arr => f.is_array(),
        Kind::Obj => f.is_object(),
    };
    assert!(ok, "{at}.{field} must be {kind:?}, is {f}");
}

fn require_all(v: &Value, at: &str, fields: &[(&str, Kind)]) {
    for (field, kind) in fields {
        require(v, at, field, *kind);
    }
}

fn require_pairs(v: &Value, at: &str) {
    for (i, pair) in v.as_array().expect("array").iter().enumerate() {
        require_all(
            pair,
            &format!("{at}[{i}]"),
            &[("name", Kind::Str), ("value", Kind::Str)],
        );
    }
}

/// Every field and type HAR 1.2 requires (the spec's "required" members, as the har-schema JSON
/// schemas list them).
fn check_har(har: &Value) {
    use Kind::*;
    require(har, "", "log", Obj);
    let log = &har["log"];
    require_all(log, "log", &[("version", Str), ("creator", Obj), ("entries", Arr)]);
    assert_eq!(log["version"], "1.2");
    require_all(&log["creator"], "log.creator", &[("name", Str), ("version", Str)]);
    for (i, e) in log["entries"].as_array().expect("entries").iter().enumerate() {
        let at = format!("log.entries[{i}]");
        require_all(
            e,
            &at,
            &[
                ("startedDateTime", Str),
                ("time", Num),
                ("request", Obj),
                ("response", Obj),
                ("cache", Obj),
                ("timings", Obj),
            ],
        );
        let started = e["startedDateTime"].as_str().expect("string");
        assert!(DateTime::parse_from_rfc3339(started).is_ok(), "{started}");
        assert!(e["time"].as_f64().is_some_and(|t| t >= 0.0));
        let req = &e["request"];
        let at_req = format!("{at}.request");
        require_all(
            req,
            &at_req,
            &[
                ("method", Str),
                ("url", Str),
                ("httpVersion", Str),
                ("cookies", Arr),
                ("headers", Arr),
                ("queryString", Arr),
                ("headersSize", Int),
                ("bodySize", Int),
            ],
        );
        let url = req["url"].as_str().expect("url");
        assert!(url::Url::parse(url).is_ok(), "{url} is not an absolute URL");
        assert!(
            url.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%#".contains(&b)),
            "{url} holds characters a URI may not"
        );
        require_pairs(&req["headers"], &format!("{at_req}.headers"));
        require_pairs(&req["queryString"], &format!("{at_req}.queryString"));
        if let Some(post) = req.get("postData") {
            require_all(post, &format!("{at_req}.postData"), &[("mimeType", Str), ("text", Str)]);
        }
        let res = &e["response"];
        let at_res = format!("{at}.response");
        require_all(
            res,
            &at_res,
            &[
                ("status", Int),
                ("statusText", Str),
                ("httpVersion", Str),
                ("cookies", Arr),
                ("headers", Arr),
                ("content", Obj),
                ("redirectURL", Str),
                ("headersSize", Int),
                ("bodySize", Int),
            ],
        );
        require_pairs(&res["headers"], &format!("{at_res}.headers"));
        require_all(
            &res["content"],
            &format!("{at_res}.content"),
            &[("size", Int), ("mimeType", Str)],
        );
        for optional in ["text", "encoding", "comment"] {
            if let Some(v) = res["content"].get(optional) {
                assert!(v.is_string(), "{at_res}.content.{optional} must be a string");
            }
        }
        require_all(
            &e["timings"],
            &format!("{at}.timings"),
            &[("send", Num), ("wait", Num), ("receive", Num)],
        );
        for t in ["send", "wait", "receive"] {
            assert!(e["timings"][t].as_f64().is_some_and(|v| v >= -1.0));
        }
    }
}

#[tokio::test]
async fn the_har_export_has_every_field_har_1_2_requires() {
    let j = Journal::new(10, 1024);
    record(
        &j,
        request(
            "POST",
            "/v1/invoices?page=2&q=a+b&access_token=secret",
            &[("host", "127.0.0.1:4010"), ("content-type", "application/json")],
            r#"{"amount":"10.00"}"#,
        ),
        testing::EPOCH,
        201,
        &[("content-type", "application/json"), ("location", "/v1/invoices/1")],
        r#"{"id":1}"#,
    )
    .await;
    record(
        &j,
        request(
            "GET",
            "/v1/files/1",
            &[("x-forwarded-proto", "https"), ("x-forwarded-host", "mock.test")],
            Body::empty(),
        ),
        "2026-11-01T09:00:01.5Z",
        200,
        &[("content-type", "application/pdf")],
        vec![0x25_u8, 0xff, 0xfe],
    )
    .await;
    simple(&j, "GET", "/nowhere", 404, testing::EPOCH).await;

    let har = j.har(&Filter::default(), "9.9.9").expect("har");
    check_har(&har);
    let log = &har["log"];
    assert_eq!(
        log["creator"],
        json!({"name": "payt-paywise-mocks", "version": "9.9.9"})
    );
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);

    let first = &entries[0];
    assert_eq!(first["startedDateTime"], "2026-11-01T09:00:00.000Z");
    assert_eq!(first["_id"], 1);
    assert_eq!(first["_world"], "default");
    assert_eq!(first["timings"]["wait"], first["time"]);
    assert_eq!(
        first["request"]["url"],
        "http://127.0.0.1:4010/v1/invoices?page=2&q=a+b&access_token=%5Bredacted%5D"
    );
    assert_eq!(first["request"]["httpVersion"], "HTTP/1.1");
    assert_eq!(
        first["request"]["queryString"],
        json!([
            {"name": "page", "value": "2"},
            {"name": "q", "value": "a b"},
            {"name": "access_token", "value": "[redacted]"}
        ])
    );
    assert_eq!(
        first["request"]["postData"],
        json!({"mimeType": "application/json", "text": "{\"amount\":\"10.00\"}"})
    );
    assert_eq!(first["request"]["bodySize"], 18);
    assert_eq!(first["response"]["status"], 201);
    assert_eq!(first["response"]["statusText"], "Created");
    assert_eq!(first["response"]["redirectURL"], "/v1/invoices/1");
    assert_eq!(
        first["response"]["content"],
        json!({"size": 8, "mimeType": "application/json", "text": "{\"id\":1}"})
    );

    let second = &entries[1];
    assert_eq!(second["startedDateTime"], "2026-11-01T09:00:01.500Z");
    assert_eq!(second["request"]["url"], "https://mock.test/v1/files/1");
    assert!(second["request"].get("postData").is_none());
    assert_eq!(second["request"]["bodySize"], 0);
    assert_eq!(second["response"]["content"]["encoding"], "base64");
    assert_eq!(
        second["response"]["content"]["text"],
        BASE64.encode([0x25_u8, 0xff, 0xfe])
    );

    let third = &entries[2];
    assert_eq!(third["request"]["url"], "http://localhost/nowhere");
    assert_eq!(third["response"]["statusText"], "Not Found");
    assert!(third["response"]["content"].get("text").is_none());

    // The filter applies.
    let only_404 = j.har(&filter("status=404").expect("filter"), "1").expect("har");
    assert_eq!(only_404["log"]["entries"].as_array().map(Vec::len), Some(1));
    check_har(&har_document(&[], "1"));
}

#[tokio::test]
async fn a_truncated_body_says_so_in_the_har() {
    let j = Journal::new(10, 4);
    record(
        &j,
        request(
            "POST",
            "/up",
            &[("content-type", "application/octet-stream")],
            vec![0xff_u8; 10],
        ),
        testing::EPOCH,
        200,
        &[("content-type", "text/plain")],
        "0123456789",
    )
    .await;
    let har = j.har(&Filter::default(), "1").expect("har");
    check_har(&har);
    let e = &har["log"]["entries"][0];
    assert_eq!(e["request"]["postData"]["text"], BASE64.encode([0xff_u8; 4]));
    assert_eq!(
        e["request"]["postData"]["comment"],
        "the text is base64; truncated: 4 of 10 bytes recorded"
    );
    assert_eq!(e["response"]["content"]["size"], 10);
    assert_eq!(e["response"]["content"]["text"], "0123");
    assert_eq!(e["response"]["content"]["comment"], "truncated: 4 of 10 bytes recorded");
}
