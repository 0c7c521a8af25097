//! Property: for every Payt list, any `per_page` walks every matching record exactly once, in
//! ascending id order, under any combination of the list's filters, and the walk ends with a null
//! cursor rather than an empty page.
//!
//! The expected set is computed here from one unfiltered read of the whole list, with the filter
//! semantics the API documents (`ids` and the `*_ids` lists match ids, `updated_after` is strictly
//! after), so the test is independent of how the mock implements them.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use mock_payt::MockPayt;
use proptest::prelude::*;
use serde_json::Value;

/// A list endpoint and the id-list filters it takes (query parameter, record field).
struct List {
    path: &'static str,
    /// Parameters the list requires besides `administration_id`.
    fixed: &'static [(&'static str, &'static str)],
    id_filters: &'static [(&'static str, &'static str)],
    updated_after: bool,
}

const LISTS: &[List] = &[
    List {
        path: "/v1/credit_cases",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/payment_plans",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/notifications",
        fixed: &[],
        id_filters: &[
            ("debtor_ids", "debtor_id"),
            ("invoice_ids", "invoice_id"),
            ("credit_case_ids", "credit_case_id"),
        ],
        updated_after: true,
    },
    List {
        path: "/v1/debtors",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/contacts",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/invoices",
        fixed: &[],
        id_filters: &[
            ("debtor_ids", "debtor_id"),
            ("credit_case_ids", "active_credit_case_id"),
        ],
        updated_after: true,
    },
    List {
        path: "/v1/messages",
        fixed: &[],
        id_filters: &[
            ("debtor_ids", "debtor_id"),
            ("invoice_ids", "invoice_id"),
            ("credit_case_ids", "credit_case_id"),
        ],
        updated_after: true,
    },
    List {
        path: "/v1/notes",
        fixed: &[],
        id_filters: &[
            ("debtor_ids", "debtor_id"),
            ("invoice_ids", "invoice_id"),
            ("credit_case_ids", "credit_case_id"),
        ],
        updated_after: true,
    },
    List {
        path: "/v1/payments",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/psp_mandates",
        fixed: &[],
        id_filters: &[("debtor_ids", "debtor_id")],
        updated_after: true,
    },
    List {
        path: "/v1/psp_transactions",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/tasks",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
    List {
        path: "/v1/order_lines",
        fixed: &[],
        id_filters: &[],
        updated_after: true,
    },
];

struct Fixture {
    rt: tokio::runtime::Runtime,
    mock: MockPayt,
    client: reqwest::Client,
    /// Every record of every list, read in one page.
    all: Vec<Vec<Value>>,
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

impl Fixture {
    fn get(&self, path: &str, query: &[(String, String)]) -> Value {
        self.rt.block_on(async {
            let res = self
                .client
                .get(format!("{}{path}", self.mock.uri()))
                .query(&[("administration_id", "81")])
                .query(query)
                .bearer_auth(self.mock.token())
                .send()
                .await
                .expect("sent");
            let status = res.status();
            let body: Value = res.json().await.expect("json");
            assert_eq!(status, 200, "GET {path} {query:?}: {body}");
            body
        })
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let mock = rt.block_on(MockPayt::test().seed(13).start());
        let mut f = Fixture {
            rt,
            mock,
            client: reqwest::Client::new(),
            all: Vec::new(),
        };
        for list in LISTS {
            let mut q: Vec<(String, String)> = list.fixed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            q.push(("per_page".into(), "500".into()));
            let page = f.get(list.path, &q);
            assert!(
                page["pagination"]["cursor"].is_null(),
                "{}: more than 500 fixture records",
                list.path
            );
            let data = page["data"].as_array().expect("data").clone();
            assert!(
                data.len() >= 3,
                "{}: too few fixture records ({}) to test paging",
                list.path,
                data.len()
            );
            f.all.push(data);
        }
        f
    })
}

/// A filter combination, drawn as choices that are mapped onto real values of the list.
#[derive(Debug, Clone)]
struct Draw {
    list: usize,
    per_page: usize,
    ids: Option<Vec<prop::sample::Index>>,
    id_filter: Option<(prop::sample::Index, Vec<prop::sample::Index>)>,
    updated_after: Option<prop::sample::Index>,
}

fn draws() -> impl Strategy<Value = Draw> {
    (
        0..LISTS.len(),
        prop_oneof![1usize..8, 8usize..80, Just(500usize)],
        prop::option::of(prop::collection::vec(any::<prop::sample::Index>(), 1..12)),
        prop::option::of((
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        )),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(list, per_page, ids, id_filter, updated_after)| Draw {
            list,
            per_page,
            ids,
            id_filter,
            updated_after,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn any_page_size_walks_every_match_exactly_once(d in draws()) {
        let f = fixture();
        let list = &LISTS[d.list];
        let all = &f.all[d.list];
        let mut query: Vec<(String, String)> = list.fixed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        query.push(("per_page".into(), d.per_page.to_string()));
        let mut expected: Vec<&Value> = all.iter().collect();
        if let (Some(picks), false) = (&d.ids, list.path.ends_with("/deleted") || list.path.ends_with("vat_rates")) {
            let ids: BTreeSet<u64> = picks.iter().filter_map(|i| id_of(&all[i.index(all.len())]["id"])).collect();
            query.push(("ids".into(), ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")));
            expected.retain(|r| id_of(&r["id"]).is_some_and(|id| ids.contains(&id)));
        }
        if let (Some((which, picks)), false) = (&d.id_filter, list.id_filters.is_empty()) {
            let (param, field) = list.id_filters[which.index(list.id_filters.len())];
            let values: BTreeSet<u64> = picks.iter().filter_map(|i| id_of(&all[i.index(all.len())][field])).collect();
            if !values.is_empty() {
                query.push((param.into(), values.iter().map(u64::to_string).collect::<Vec<_>>().join(",")));
                expected.retain(|r| id_of(&r[field]).is_some_and(|v| values.contains(&v)));
            }
        }
        if let (Some(pick), true) = (&d.updated_after, list.updated_after) {
            let at = all[pick.index(all.len())]["updated_at"].as_str().expect("updated_at").to_string();
            expected.retain(|r| r["updated_at"].as_str().is_some_and(|u| u > at.as_str()));
            query.push(("updated_after".into(), at));
        }
        let expected: Vec<u64> = expected.iter().filter_map(|r| id_of(&r["id"])).collect();

        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..=all.len() + 1 {
            let mut q = query.clone();
            if let Some(c) = &cursor {
                q.push(("cursor".into(), c.clone()));
            }
            let page = f.get(list.path, &q);
            let data = page["data"].as_array().expect("data");
            prop_assert!(data.len() <= d.per_page);
            seen.extend(data.iter().filter_map(|r| id_of(&r["id"])));
            cursor = match &page["pagination"]["cursor"] {
                Value::Null => None,
                c => Some(id_of(c).expect("cursor is an id").to_string()),
            };
            match &cursor {
                None => break,
                Some(_) => prop_assert_eq!(data.len(), d.per_page, "{}: a short page must be the last", list.path),
            }
        }
        prop_assert!(cursor.is_none(), "{}: the walk did not end", list.path);
        prop_assert_eq!(seen, expected, "{} {:?}", list.path, query);
    }
}
