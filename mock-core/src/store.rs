//! The typed in-memory store.
//!
//! A vendor keeps one struct of [`Table`]s (its database) inside a [`Store`]. Handlers call
//! `store.read(|db| ...)` or `store.write(|db| ...)` and use the table methods; no handler sees a
//! map. A `std::sync::RwLock` suffices because nothing awaits while holding it: the closures are
//! synchronous, so a guard can never be held across an `.await`.
//!
//! Records of a table are partitioned by [`Record::Scope`] (every read is scoped: a Payt
//! administration, a paywise company and access mode) and kept sorted by [`Record::seq`]. Sequence
//! numbers only grow, so an insert is a push; a cursor page is a binary search plus the page; an
//! offset page is an index plus the page. Filtered pages scan from the start position until the
//! page is full.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// A record that can live in a [`Table`].
pub trait Record: Clone + Send + Sync + 'static {
    /// What reads are scoped by (tenant, access mode, ...).
    type Scope: Eq + Hash + Clone + Debug + Send + Sync + 'static;
    /// The record's scope.
    fn scope(&self) -> Self::Scope;
    /// The record's position in creation order; unique within the table and never changed.
    fn seq(&self) -> u64;
    /// The public identifier that lookups use; unique within the table.
    fn key(&self) -> String;
}

/// Why a store operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A record with that key or sequence number is already stored.
    #[error("a record with key {0} already exists")]
    Duplicate(String),
}

/// A page read by cursor: the records after a sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<V> {
    /// The records of the page, in sequence order.
    pub items: Vec<V>,
    /// Whether matching records follow the page.
    pub has_more: bool,
}

/// A page read by offset: a slice of the matching records and their total count.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetPage<V> {
    /// The records of the page, in sequence order.
    pub items: Vec<V>,
    /// How many records match in all.
    pub count: usize,
}

/// Records of one kind, partitioned by scope and ordered by sequence.
///
/// Records are shared (`Arc`) and copied on write, and so is the key index: cloning a table (a
/// world made from a template, a reset, a snapshot) copies one pointer per record, not the
/// records, and a later update copies only the record it changes.
#[derive(Debug, Clone)]
pub struct Table<V: Record> {
    parts: HashMap<V::Scope, Vec<Arc<V>>>,
    index: Arc<HashMap<String, (V::Scope, u64)>>,
}

impl<V: Record> Default for Table<V> {
    fn default() -> Self {
        Self {
            parts: HashMap::new(),
            index: Arc::new(HashMap::new()),
        }
    }
}

impl<V: Record> Table<V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the table holds in all scopes.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// How many records one scope holds.
    pub fn scope_len(&self, scope: &V::Scope) -> usize {
        self.parts.get(scope).map_or(0, Vec::len)
    }

    /// Stores a new record. Its key and its sequence number must be new; a sequence number below the
    /// last one of its scope (two concurrent writers) is put in its sorted place.
    pub fn insert(&mut self, record: V) -> Result<(), StoreError> {
        let key = record.key();
        if self.index.contains_key(&key) {
            return Err(StoreError::Duplicate(key));
        }
        let scope = record.scope();
        let part = self.parts.entry(scope.clone()).or_default();
        let seq = record.seq();
        let record = Arc::new(record);
        match part.last() {
            // The common case: sequence numbers grow, so the record goes at the end.
            None => part.push(record),
            Some(last) if last.seq() < seq => part.push(record),
            // Two writers took their sequence numbers before taking the lock and arrive in the
            // other order: keep the partition sorted.
            Some(_) => match part.binary_search_by_key(&seq, |v| v.seq()) {
                Ok(_) => return Err(StoreError::Duplicate(key)),
                Err(at) => part.insert(at, record),
            },
        }
        Arc::make_mut(&mut self.index).insert(key, (scope, seq));
        Ok(())
    }

    fn position(&self, scope: &V::Scope, seq: u64) -> Option<(&Vec<Arc<V>>, usize)> {
        let part = self.parts.get(scope)?;
        part.binary_search_by_key(&seq, |v| v.seq()).ok().map(|i| (part, i))
    }

    /// The record with `key` in `scope`.
    pub fn get(&self, scope: &V::Scope, key: &str) -> Option<&V> {
        let (s, seq) = self.index.get(key)?;
        if s != scope {
            return None;
        }
        self.position(scope, *seq).map(|(part, i)| &*part[i])
    }

    /// The record with `key`, whatever its scope.
    pub fn find(&self, key: &str) -> Option<&V> {
        let (scope, seq) = self.index.get(key)?;
        self.position(scope, *seq).map(|(part, i)| &*part[i])
    }

    /// Changes the record with `key` in `scope` and returns what `change` returns.
    ///
    /// `change` must not alter the record's key, scope or sequence.
    pub fn update<R>(&mut self, scope: &V::Scope, key: &str, change: impl FnOnce(&mut V) -> R) -> Option<R> {
        let (s, seq) = self.index.get(key)?;
        if s != scope {
            return None;
        }
        let seq = *seq;
        let part = self.parts.get_mut(scope)?;
        let i = part.binary_search_by_key(&seq, |v| v.seq()).ok()?;
        let record = Arc::make_mut(&mut part[i]);
        let out = change(record);
        debug_assert_eq!(record.key(), key, "update must not change the key");
        debug_assert_eq!(record.seq(), seq, "update must not change the sequence");
        Some(out)
    }

    /// Removes the record with `key` in `scope`.
    pub fn remove(&mut self, scope: &V::Scope, key: &str) -> Option<V> {
        let (s, seq) = self.index.get(key)?;
        if s != scope {
            return None;
        }
        let seq = *seq;
        let part = self.parts.get_mut(scope)?;
        let i = part.binary_search_by_key(&seq, |v| v.seq()).ok()?;
        Arc::make_mut(&mut self.index).remove(key);
        Some(Arc::unwrap_or_clone(part.remove(i)))
    }

    /// All records of a scope in sequence order.
    pub fn iter(&self, scope: &V::Scope) -> impl Iterator<Item = &V> {
        self.parts.get(scope).into_iter().flatten().map(|v| &**v)
    }

    /// All records of all scopes (scopes in no particular order).
    pub fn iter_all(&self) -> impl Iterator<Item = &V> {
        self.parts.values().flatten().map(|v| &**v)
    }

    /// Up to `limit` records of `scope` that come after sequence `after` and match `filter`.
    pub fn page_after(
        &self,
        scope: &V::Scope,
        after: Option<u64>,
        limit: usize,
        filter: impl Fn(&V) -> bool,
    ) -> CursorPage<V> {
        let Some(part) = self.parts.get(scope) else {
            return CursorPage {
                items: Vec::new(),
                has_more: false,
            };
        };
        let start = after.map_or(0, |a| part.partition_point(|v| v.seq() <= a));
        let mut items = Vec::with_capacity(limit.min(part.len() - start));
        let mut has_more = false;
        for v in part[start..].iter().filter(|v| filter(v)) {
            if items.len() == limit {
                has_more = true;
                break;
            }
            items.push(V::clone(v));
        }
        CursorPage { items, has_more }
    }

    /// Records `offset..offset + limit` of those in `scope` that match `filter`, with their count.
    ///
    /// Without a filter (`None`) this costs only the page; with one, every record of the scope is
    /// tested, since the total count is part of the answer.
    pub fn page_offset(
        &self,
        scope: &V::Scope,
        offset: usize,
        limit: usize,
        filter: Option<&dyn Fn(&V) -> bool>,
    ) -> OffsetPage<V> {
        let Some(part) = self.parts.get(scope) else {
            return OffsetPage {
                items: Vec::new(),
                count: 0,
            };
        };
        match filter {
            None => {
                let start = offset.min(part.len());
                let end = start.saturating_add(limit).min(part.len());
                OffsetPage {
                    items: part[start..end].iter().map(|v| V::clone(v)).collect(),
                    count: part.len(),
                }
            }
            Some(f) => {
                let mut count = 0;
                let mut items = Vec::new();
                for v in part.iter().filter(|v| f(v)) {
                    if count >= offset && items.len() < limit {
                        items.push(V::clone(v));
                    }
                    count += 1;
                }
                OffsetPage { items, count }
            }
        }
    }
}

/// A table is stored (in a world's snapshot, see [`crate::snapshot`]) as the list of its records
/// in sequence order, each in its storage form; loading inserts them again, so the scope
/// partitions and the key index are rebuilt rather than stored.
impl<V: Record + serde::Serialize> serde::Serialize for Table<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut all: Vec<&V> = self.iter_all().collect();
        all.sort_unstable_by_key(|v| v.seq());
        serializer.collect_seq(all)
    }
}

impl<'de, V: Record + serde::Deserialize<'de>> serde::Deserialize<'de> for Table<V> {
    fn deserialize<De: serde::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let records = Vec::<V>::deserialize(deserializer)?;
        let mut table = Table::new();
        for record in records {
            table.insert(record).map_err(serde::de::Error::custom)?;
        }
        Ok(table)
    }
}

/// A vendor's database behind one lock, with a revision counter that every write moves.
#[derive(Debug, Default)]
pub struct Store<D> {
    db: RwLock<D>,
    revision: AtomicU64,
}

impl<D> Store<D> {
    /// A store holding `db`.
    pub fn new(db: D) -> Self {
        Self {
            db: RwLock::new(db),
            revision: AtomicU64::new(0),
        }
    }

    /// Reads the database.
    pub fn read<R>(&self, f: impl FnOnce(&D) -> R) -> R {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        f(&guard)
    }

    /// Changes the database; the revision moves on whether or not `f` changed anything.
    pub fn write<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        let mut guard = self.db.write().unwrap_or_else(PoisonError::into_inner);
        let out = f(&mut guard);
        self.revision.fetch_add(1, Ordering::Relaxed);
        out
    }

    /// Replaces the whole database (reset, loading a snapshot).
    pub fn replace(&self, db: D) {
        self.write(|d| *d = db);
    }

    /// How many writes the store has seen.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Relaxed)
    }
}

impl<D: Clone> Store<D> {
    /// A copy of the whole database.
    pub fn snapshot(&self) -> D {
        self.read(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        scope: u8,
        seq: u64,
        tag: u8,
    }

    impl Record for Row {
        type Scope = u8;
        fn scope(&self) -> u8 {
            self.scope
        }
        fn seq(&self) -> u64 {
            self.seq
        }
        fn key(&self) -> String {
            self.seq.to_string()
        }
    }

    fn table(rows: &[(u8, u8)]) -> Table<Row> {
        let mut t = Table::new();
        for (i, (scope, tag)) in rows.iter().enumerate() {
            t.insert(Row {
                scope: *scope,
                seq: i as u64 + 1,
                tag: *tag,
            })
            .expect("fresh");
        }
        t
    }

    #[test]
    fn scoped_lookup_hides_other_scopes() {
        let t = table(&[(1, 0), (2, 0)]);
        assert!(t.get(&1, "1").is_some());
        assert!(t.get(&2, "1").is_none());
        assert!(t.find("2").is_some());
    }

    #[test]
    fn rejects_duplicates_and_sorts_late_arrivals() {
        let mut t = table(&[(1, 0)]);
        let dup = Row {
            scope: 1,
            seq: 1,
            tag: 0,
        };
        assert_eq!(t.insert(dup), Err(StoreError::Duplicate("1".into())));
        let mut t2 = Table::new();
        t2.insert(Row {
            scope: 1,
            seq: 5,
            tag: 0,
        })
        .expect("fresh");
        t2.insert(Row {
            scope: 1,
            seq: 3,
            tag: 0,
        })
        .expect("a late writer");
        t2.insert(Row {
            scope: 1,
            seq: 7,
            tag: 0,
        })
        .expect("fresh");
        let seqs: Vec<u64> = t2.iter(&1).map(|r| r.seq).collect();
        assert_eq!(seqs, vec![3, 5, 7]);
        assert!(t2.get(&1, "3").is_some());
    }

    #[test]
    fn update_and_remove() {
        let mut t = table(&[(1, 0), (1, 0)]);
        assert_eq!(
            t.update(&1, "2", |r| {
                r.tag = 9;
                r.tag
            }),
            Some(9)
        );
        assert_eq!(t.get(&1, "2").map(|r| r.tag), Some(9));
        assert!(t.remove(&1, "1").is_some());
        assert!(t.get(&1, "1").is_none());
        assert_eq!(t.len(), 1);
        assert_eq!(t.update(&2, "2", |_| ()), None);
    }

    #[test]
    fn a_table_is_stored_as_its_records_in_sequence_order() {
        let t = table(&[(2, 0), (1, 5), (2, 0)]);
        let json = serde_json::to_string(&t).expect("serializable");
        assert_eq!(
            json,
            r#"[{"scope":2,"seq":1,"tag":0},{"scope":1,"seq":2,"tag":5},{"scope":2,"seq":3,"tag":0}]"#
        );
        let back: Table<Row> = serde_json::from_str(&json).expect("loads");
        assert_eq!(
            back.get(&1, "2"),
            Some(&Row {
                scope: 1,
                seq: 2,
                tag: 5
            })
        );
        assert_eq!(back.scope_len(&2), 2);
        let dup = serde_json::from_str::<Table<Row>>(r#"[{"scope":1,"seq":1,"tag":0},{"scope":1,"seq":1,"tag":0}]"#);
        assert!(dup.is_err_and(|e| e.to_string().contains("already exists")));
    }

    proptest! {
        /// Walking cursor pages visits every matching record exactly once, in order.
        #[test]
        fn cursor_walk_is_complete(rows in proptest::collection::vec((0u8..3, 0u8..4), 0..200),
                                   per_page in 1usize..20, want in proptest::option::of(0u8..4)) {
            let t = table(&rows);
            for scope in 0u8..3 {
                let expected: Vec<u64> = t.iter(&scope)
                    .filter(|r| want.is_none_or(|w| r.tag == w)).map(|r| r.seq).collect();
                let mut seen = Vec::new();
                let mut after = None;
                loop {
                    let page = t.page_after(&scope, after, per_page, |r| want.is_none_or(|w| r.tag == w));
                    prop_assert!(page.items.len() <= per_page);
                    seen.extend(page.items.iter().map(|r| r.seq));
                    if !page.has_more { break; }
                    prop_assert_eq!(page.items.len(), per_page);
                    after = page.items.last().map(|r| r.seq);
                }
                prop_assert_eq!(seen, expected);
            }
        }

        /// Offset pages agree with the filtered list, with or without a filter.
        #[test]
        fn offset_pages_slice_the_list(rows in proptest::collection::vec((0u8..2, 0u8..4), 0..100),
                                       offset in 0usize..120, limit in 1usize..30, tag in 0u8..4) {
            let t = table(&rows);
            let all: Vec<u64> = t.iter(&0).map(|r| r.seq).collect();
            let page = t.page_offset(&0, offset, limit, None);
            prop_assert_eq!(page.count, all.len());
            let got: Vec<u64> = page.items.iter().map(|r| r.seq).collect();
            let want: Vec<u64> = all.iter().copied().skip(offset).take(limit).collect();
            prop_assert_eq!(got, want);
            let f = |r: &Row| r.tag == tag;
            let matching: Vec<u64> = t.iter(&0).filter(|r| f(r)).map(|r| r.seq).collect();
            let page = t.page_offset(&0, offset, limit, Some(&f));
            prop_assert_eq!(page.count, matching.len());
            let got: Vec<u64> = page.items.iter().map(|r| r.seq).collect();
            let want: Vec<u64> = matching.iter().copied().skip(offset).take(limit).collect();
            prop_assert_eq!(got, want);
        }
    }
}
