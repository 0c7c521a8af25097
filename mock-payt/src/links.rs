//! Every absolute URL the Payt mock writes, and the pages they lead to.
//!
//! The rule: **the mock never points a client at a vendor's real host.** Payt's records carry
//! links (`administration_url`, the debtor-portal `public_url`s, the `deeplink_url`s into Payt's
//! interface, `sign_up_url`, the invoice `document_url`s and the upload `url` of `POST /v1/files`);
//! in the mock each of them leads back to the mock itself, on a mock-only path under `/_mock/payt/`.
//!
//! **One mechanism, in one place.** Records are built with [`link`]: an absolute URL on the
//! placeholder origin [`SENTINEL`] (`http://payt-mock.invalid`; `.invalid` never resolves, so a URL
//! that escaped the rewrite still reaches no one). [`middleware`] wraps every Payt route and, on a
//! JSON answer, replaces the placeholder with the origin of the request being answered
//! ([`origin_of`]: `X-Forwarded-Proto` or `http`, and `X-Forwarded-Host` or the `Host` the client
//! called). The store
//! therefore holds one stable form whatever address the mock is reached on, two clients on two
//! addresses each get their own, and the cost is one substring scan of a body that serde already
//! built (a page of 100 invoices with every opt-in URL: well under a millisecond). A request without
//! a usable `Host` gets root-relative links (`/_mock/payt/...`), never a foreign host.
//!
//! **The pages** ([`router`]): each link answers 200 with a small JSON document naming the Payt page
//! it stands for and the record (`{"mock": "payt", "page": "portal/invoices", "stands_for": ...,
//! "id": "1234"}`), and 404 in Payt's error shape for a record that does not exist. They need no
//! token, as a debtor-portal link needs none. The upload and document URLs lead to the storage
//! ([`crate::storage`]). None of these routes is part of a control API: the public flow hands them
//! out, so they are served whatever the control-API setting.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::PaytError;
use crate::params::parse_id;
use crate::resources::sign_up::SIGN_UP_TOKEN;
use crate::state::AppState;

/// The placeholder origin records are written with; [`middleware`] replaces it in every answer.
pub(crate) const SENTINEL: &str = "http://payt-mock.invalid";
/// The prefix of every mock-only path of the Payt mock.
pub const PREFIX: &str = "/_mock/payt";

/// The absolute URL of mock path `path` (which starts with `/`), on the placeholder origin.
pub fn link(path: &str) -> String {
    format!("{SENTINEL}{path}")
}

/// The link into the Payt interface of administration `admin`.
pub(crate) fn app_administration(admin: u64) -> String {
    link(&format!("{PREFIX}/app/administrations/{admin}"))
}

/// The link into the Payt interface of record `id` of `kind` (`invoices`, `debtors`,
/// `credit_cases`, `orders`, `order_lines`) in administration `admin`.
pub(crate) fn app_record(admin: u64, kind: AppKind, id: u64) -> String {
    AppRecord(admin, kind, id).to_string()
}

/// The debtor-portal page of record `id` of `kind`.
pub fn portal(kind: PortalKind, id: u64) -> String {
    Link::Portal(kind, id).to_string()
}

/// [`app_record`]'s link, written where it is needed (a [`Link`] writes its own with it).
struct AppRecord(u64, AppKind, u64);

impl std::fmt::Display for AppRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let AppRecord(admin, kind, id) = self;
        write!(
            f,
            "{SENTINEL}{PREFIX}/app/administrations/{admin}/{}/{id}",
            kind.segment()
        )
    }
}

/// Where the user of a sign-up with `token` completes it.
pub fn sign_up(token: &str) -> String {
    link(&format!("{PREFIX}/app/sign_up/{token}"))
}

/// A link or address a record stores that is made from the record's own id: a debtor-portal
/// link, a link into Payt's interface or an internal-note address. Kept as its parts (16 bytes,
/// no heap) and written as its text, so a large world does not hold millions of URL strings;
/// any other text (a hand-edited state file) is kept as it is. It serializes and deserializes as
/// the string it stands for, and its `Debug` is that string's, so the storage form, the answers
/// and [`crate::state::Db::fingerprint`] are those of a `String` field.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Link {
    /// The empty string.
    #[default]
    Empty,
    /// [`portal`]`(kind, id)`.
    Portal(PortalKind, u64),
    /// [`app_record`]`(admin, kind, id)` (an administration id that fits 32 bits).
    App(AppKind, u32, u64),
    /// The internal-note address of record `id` of a kind: `invoice-{id}@notes.payt-mock.invalid`.
    Note(NoteKind, u64),
    /// Any other text (boxed, so that a link is 16 bytes: a `Box<str>` would take 16 alone).
    #[allow(clippy::box_collection)]
    Text(Box<String>),
}

/// The domain of the internal-note addresses: a reserved name (RFC 6761 `.invalid`), so that a
/// client that mails a note to one never reaches Payt's own mail servers.
const NOTES_DOMAIN: &str = "@notes.payt-mock.invalid";

/// Records that have an internal-note address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// `invoice-{id}@...`.
    Invoice,
    /// `debtor-{id}@...`.
    Debtor,
    /// `case-{id}@...` (a credit case).
    CreditCase,
}

impl NoteKind {
    const ALL: [NoteKind; 3] = [NoteKind::Invoice, NoteKind::Debtor, NoteKind::CreditCase];

    fn local(self) -> &'static str {
        match self {
            NoteKind::Invoice => "invoice",
            NoteKind::Debtor => "debtor",
            NoteKind::CreditCase => "case",
        }
    }
}

impl Link {
    /// [`portal`]`(kind, id)`.
    pub fn portal(kind: PortalKind, id: u64) -> Link {
        Link::Portal(kind, id)
    }

    /// [`app_record`]`(admin, kind, id)`.
    pub fn app(admin: u64, kind: AppKind, id: u64) -> Link {
        match u32::try_from(admin) {
            Ok(a) => Link::App(kind, a, id),
            Err(_) => Link::Text(Box::new(app_record(admin, kind, id))),
        }
    }

    /// The internal-note address of record `id` of `kind`.
    pub fn note(kind: NoteKind, id: u64) -> Link {
        Link::Note(kind, id)
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        match self {
            Link::Empty => true,
            Link::Text(text) => text.is_empty(),
            _ => false,
        }
    }

    /// `text` in its compact form when it has one of the shapes above (written back, it is
    /// `text` exactly), else kept as it is.
    pub fn parse(text: String) -> Link {
        if text.is_empty() {
            return Link::Empty;
        }
        let compact = Self::shape(&text).filter(|l| l.to_string() == text);
        compact.unwrap_or_else(|| Link::Text(Box::new(text)))
    }

    /// The compact form `text` may have (checked against its text by [`Link::parse`]).
    fn shape(text: &str) -> Option<Link> {
        let id = |s: &str| s.parse::<u64>().ok();
        if let Some(local) = text.strip_suffix(NOTES_DOMAIN) {
            let (kind, n) = local.split_once('-')?;
            let kind = NoteKind::ALL.into_iter().find(|k| k.local() == kind)?;
            return Some(Link::Note(kind, id(n)?));
        }
        let path = text.strip_prefix(SENTINEL)?.strip_prefix(PREFIX)?;
        if let Some(rest) = path.strip_prefix("/portal/") {
            let (segment, n) = rest.split_once('/')?;
            let kind = PortalKind::ALL.into_iter().find(|k| k.segment() == segment)?;
            return Some(Link::Portal(kind, id(n)?));
        }
        let rest = path.strip_prefix("/app/administrations/")?;
        let (admin, rest) = rest.split_once('/')?;
        let (segment, n) = rest.split_once('/')?;
        let kind = AppKind::ALL.into_iter().find(|k| k.segment() == segment)?;
        Some(Link::App(kind, admin.parse().ok()?, id(n)?))
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Link::Empty => Ok(()),
            Link::Portal(kind, id) => write!(f, "{SENTINEL}{PREFIX}/portal/{}/{id}", kind.segment()),
            Link::App(kind, admin, id) => AppRecord(u64::from(*admin), *kind, *id).fmt(f),
            Link::Note(kind, id) => write!(f, "{}-{id}{NOTES_DOMAIN}", kind.local()),
            Link::Text(text) => f.write_str(text),
        }
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl From<String> for Link {
    fn from(text: String) -> Link {
        Link::parse(text)
    }
}

impl serde::Serialize for Link {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Link::Empty => serializer.serialize_str(""),
            Link::Text(text) => serializer.serialize_str(text),
            _ => serializer.collect_str(self),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Link {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Link::parse)
    }
}

/// Records that have a page in Payt's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// An invoice.
    Invoice,
    /// A debtor.
    Debtor,
    /// A credit case.
    CreditCase,
    /// An order.
    Order,
    /// An order line.
    OrderLine,
}

impl AppKind {
    const ALL: [AppKind; 5] = [
        AppKind::Invoice,
        AppKind::Debtor,
        AppKind::CreditCase,
        AppKind::Order,
        AppKind::OrderLine,
    ];

    fn segment(self) -> &'static str {
        match self {
            AppKind::Invoice => "invoices",
            AppKind::Debtor => "debtors",
            AppKind::CreditCase => "credit_cases",
            AppKind::Order => "orders",
            AppKind::OrderLine => "order_lines",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            AppKind::Invoice => "invoice",
            AppKind::Debtor => "debtor",
            AppKind::CreditCase => "credit case",
            AppKind::Order => "order",
            AppKind::OrderLine => "order line",
        }
    }

    fn model(self) -> &'static str {
        match self {
            AppKind::Invoice => "Invoice",
            AppKind::Debtor => "Debtor",
            AppKind::CreditCase => "CreditCase",
            AppKind::Order => "Order",
            AppKind::OrderLine => "OrderLine",
        }
    }
}

/// Records that have a debtor-portal page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalKind {
    /// An invoice.
    Invoice,
    /// A debtor.
    Debtor,
    /// A credit case.
    CreditCase,
    /// A payment plan.
    PaymentPlan,
}

impl PortalKind {
    const ALL: [PortalKind; 4] = [
        PortalKind::Invoice,
        PortalKind::Debtor,
        PortalKind::CreditCase,
        PortalKind::PaymentPlan,
    ];

    fn segment(self) -> &'static str {
        match self {
            PortalKind::Invoice => "invoices",
            PortalKind::Debtor => "debtors",
            PortalKind::CreditCase => "credit_cases",
            PortalKind::PaymentPlan => "payment_plans",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            PortalKind::Invoice => "invoice",
            PortalKind::Debtor => "debtor",
            PortalKind::CreditCase => "credit case",
            PortalKind::PaymentPlan => "payment plan",
        }
    }

    fn model(self) -> &'static str {
        match self {
            PortalKind::Invoice => "Invoice",
            PortalKind::Debtor => "Debtor",
            PortalKind::CreditCase => "CreditCase",
            PortalKind::PaymentPlan => "PaymentPlan",
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The origin

/// Whether `host` can stand in a URL as its authority (`name`, `name:port`, `[v6]:port`): no
/// userinfo, path, quote or space, so it can also be spliced into a JSON string as it is.
/// The origin a client called, `scheme://host[:port]` ([`mock_core::pagination::origin`]: the
/// forwarded scheme and host, else `Host`, else the request target's authority). Empty when none
/// gives a usable host: links are then root-relative.
pub fn origin_of(headers: &HeaderMap, uri: &Uri) -> String {
    mock_core::pagination::origin(headers, uri).unwrap_or_default()
}

/// `text` with every [`SENTINEL`] replaced by `origin`; `None` when it holds none (one scan).
#[cfg(test)]
fn rewrite(text: &str, origin: &str) -> Option<String> {
    rewrite_bytes(text.as_bytes(), origin).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// Every [`SENTINEL`] in the bytes of a body replaced by `origin`; `None` when it holds none
/// (UTF-8 stays UTF-8: an ASCII placeholder is replaced by text), searched with `memchr`'s SIMD
/// substring search.
pub(crate) fn rewrite_bytes(body: &[u8], origin: &str) -> Option<Vec<u8>> {
    let mut hits = memchr::memmem::find_iter(body, SENTINEL.as_bytes()).peekable();
    hits.peek()?;
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut last = 0;
    for at in hits {
        out.extend_from_slice(&body[last..at]);
        out.extend_from_slice(origin.as_bytes());
        last = at + SENTINEL.len();
    }
    out.extend_from_slice(&body[last..]);
    Some(out)
}

/// Middleware on every Payt route: puts the request's origin into the links of a JSON answer.
pub async fn middleware(req: Request, next: Next) -> Response {
    let origin = origin_of(req.headers(), req.uri());
    let res = next.run(req).await;
    mock_core::server::map_json_body(res, |bytes| rewrite_bytes(bytes, &origin)).await
}

// ------------------------------------------------------------------------------------------------
// The pages

/// The pages the links lead to (relative to the root; the caller adds [`middleware`]).
pub fn router() -> Router<AppState> {
    let mut r = Router::new()
        .route(&format!("{PREFIX}/app/administrations/{{admin}}"), get(app_admin_page))
        .route(&format!("{PREFIX}/app/sign_up/{{token}}"), get(sign_up_page));
    for kind in AppKind::ALL {
        r = r.route(
            &format!("{PREFIX}/app/administrations/{{admin}}/{}/{{id}}", kind.segment()),
            get(move |s: State<AppState>, p: Path<(String, String)>| app_page(s, p, kind)),
        );
    }
    for kind in PortalKind::ALL {
        r = r.route(
            &format!("{PREFIX}/portal/{}/{{id}}", kind.segment()),
            get(move |s: State<AppState>, p: Path<String>| portal_page(s, p, kind)),
        );
    }
    r
}

fn page(page: String, stands_for: String, admin: Option<u64>, id: &str) -> Json<Value> {
    let mut v = json!({
        "mock": "payt",
        "page": page,
        "stands_for": stands_for,
        "id": id,
    });
    if let Some(a) = admin {
        v["administration_id"] = json!(a.to_string());
    }
    Json(v)
}

async fn app_admin_page(State(state): State<AppState>, Path(admin): Path<String>) -> Result<Json<Value>, PaytError> {
    let found = parse_id(&admin).filter(|a| {
        state
            .store
            .read(|db| db.administrations.get(&(), &a.to_string()).is_some())
    });
    let a = found.ok_or_else(|| PaytError::not_found("Administration", &admin))?;
    Ok(page(
        "app/administrations".into(),
        format!("administration {a} in Payt's interface"),
        None,
        &a.to_string(),
    ))
}

async fn app_page(
    State(state): State<AppState>,
    Path((admin, id)): Path<(String, String)>,
    kind: AppKind,
) -> Result<Json<Value>, PaytError> {
    let found = parse_id(&admin).zip(parse_id(&id)).filter(|(a, i)| {
        let key = i.to_string();
        state.store.read(|db| match kind {
            AppKind::Invoice => db.invoices.get(a, &key).is_some(),
            AppKind::Debtor => db.debtors.get(a, &key).is_some(),
            AppKind::CreditCase => db.credit_cases.get(a, &key).is_some(),
            AppKind::Order => db.orders.get(a, &key).is_some(),
            AppKind::OrderLine => db.order_lines.get(a, &key).is_some(),
        })
    });
    let (a, i) = found.ok_or_else(|| PaytError::not_found(kind.model(), &id))?;
    Ok(page(
        format!("app/{}", kind.segment()),
        format!("the page of {} {i} in Payt's interface", kind.noun()),
        Some(a),
        &i.to_string(),
    ))
}

async fn portal_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    kind: PortalKind,
) -> Result<Json<Value>, PaytError> {
    let found = parse_id(&id).and_then(|i| {
        let key = i.to_string();
        state
            .store
            .read(|db| match kind {
                PortalKind::Invoice => db.invoices.find(&key).map(|r| r.administration_id),
                PortalKind::Debtor => db.debtors.find(&key).map(|r| r.administration_id),
                PortalKind::CreditCase => db.credit_cases.find(&key).map(|r| r.administration_id),
                PortalKind::PaymentPlan => db.payment_plans.find(&key).map(|r| r.administration_id),
            })
            .map(|a| (a, i))
    });
    let (a, i) = found.ok_or_else(|| PaytError::not_found(kind.model(), &id))?;
    Ok(page(
        format!("portal/{}", kind.segment()),
        format!("the debtor-portal page of {} {i}", kind.noun()),
        Some(a),
        &i.to_string(),
    ))
}

async fn sign_up_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Json<Value>, PaytError> {
    let known = state.store.read(|db| {
        db.sign_ups
            .lookup(&(), SIGN_UP_TOKEN, &token)
            .any(|s| s.user.sign_up_token == token)
    });
    if !known {
        return Err(PaytError::NotFound(format!(
            "Couldn't find SignUp with 'sign_up_token'={token}"
        )));
    }
    Ok(page(
        "app/sign_up".into(),
        "the page where a signed-up user completes the sign-up in Payt's interface".into(),
        None,
        &token,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use axum::http::header::HOST;

    #[test]
    fn a_link_is_stored_compactly_and_written_as_its_text() {
        assert_eq!(std::mem::size_of::<Link>(), 16);
        let cases = [
            (
                Link::portal(PortalKind::Invoice, 20618),
                portal(PortalKind::Invoice, 20618),
            ),
            (
                Link::app(81, AppKind::CreditCase, 7),
                app_record(81, AppKind::CreditCase, 7),
            ),
            (
                Link::app(1 << 40, AppKind::Debtor, 7),
                app_record(1 << 40, AppKind::Debtor, 7),
            ),
            (
                Link::note(NoteKind::CreditCase, 9),
                "case-9@notes.payt-mock.invalid".to_string(),
            ),
            (Link::default(), String::new()),
        ];
        for (link, text) in cases {
            assert_eq!(link.to_string(), text);
            assert_eq!(format!("{link:?}"), format!("{text:?}"));
            assert_eq!(
                serde_json::to_string(&link).expect("json"),
                serde_json::to_string(&text).expect("json")
            );
            let back: Link = serde_json::from_str(&serde_json::to_string(&text).expect("json")).expect("loads");
            assert_eq!(back, link, "{text} is read back in its compact form");
        }
        // Text of no known shape, or of a known shape written differently, is kept as it is.
        for text in [
            "https://portal.example/x",
            "http://payt-mock.invalid/_mock/payt/portal/invoices/007",
            "http://payt-mock.invalid/_mock/payt/portal/invoices/+7",
            "http://payt-mock.invalid/_mock/payt/portal/nothing/7",
            "http://payt-mock.invalid/_mock/payt/app/administrations/81/invoices/7/x",
            "memo-7@notes.payt-mock.invalid",
            "invoice-@notes.payt-mock.invalid",
            "caf\u{e9} \"quoted\"",
        ] {
            let link = Link::from(text.to_string());
            assert!(matches!(link, Link::Text(_)), "{text}");
            assert_eq!(
                serde_json::to_string(&link).expect("json"),
                serde_json::to_string(text).expect("json")
            );
        }
    }

    #[test]
    fn the_origin_is_the_host_called_and_never_a_bad_one() {
        let uri: Uri = "/v1/files".parse().expect("uri");
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8180"));
        assert_eq!(origin_of(&h, &uri), "http://127.0.0.1:8180");
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS, http"));
        assert_eq!(origin_of(&h, &uri), "https://127.0.0.1:8180");
        h.insert("x-forwarded-proto", HeaderValue::from_static("gopher"));
        assert_eq!(origin_of(&h, &uri), "http://127.0.0.1:8180");
        h.insert(HOST, HeaderValue::from_static("evil.example\"/x"));
        assert_eq!(origin_of(&h, &uri), "");
        h.remove(HOST);
        let absolute: Uri = "http://[::1]:9/v1/files".parse().expect("uri");
        assert_eq!(origin_of(&h, &absolute), "http://[::1]:9");
        // Behind a proxy: the host the client called, not the proxy's upstream.
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8180"));
        h.insert("x-forwarded-host", HeaderValue::from_static("mocks.test:8443"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(origin_of(&h, &uri), "https://mocks.test:8443");
    }

    #[test]
    fn rewrite_replaces_every_placeholder_and_only_those() {
        let text = format!("{{\"a\":\"{SENTINEL}/x\",\"b\":[\"{SENTINEL}/y\"],\"c\":\"http://other/z\"}}");
        assert_eq!(
            rewrite(&text, "http://h:1").as_deref(),
            Some("{\"a\":\"http://h:1/x\",\"b\":[\"http://h:1/y\"],\"c\":\"http://other/z\"}")
        );
        assert_eq!(rewrite("{\"a\":1}", "http://h:1"), None);
        assert_eq!(rewrite(&link("/p"), "").as_deref(), Some("/p"));
    }
}
