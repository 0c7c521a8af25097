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
//! page is full, except where the filter is served from an order the table keeps ([`Hint`]).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::BuildHasher;
use std::hash::Hash;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use hashbrown::HashTable;

/// Implements [`Record`] for a type whose numeric `id` field is its key and sequence number and
/// which belongs to no scope: one table for the whole world (Payt's administrations and webhook
/// subscriptions, paywise's partner accounts), with no key index ([`Record::KEY_IS_SEQ`]). With
/// `, lookups = |record| ...` (a closure from the record to its `(name, value)` pairs) it also
/// gives the record's secondary keys ([`Record::lookups`]), and with `, unique = &[...]` those of
/// them that are unique ([`Record::UNIQUE`]).
///
/// ```
/// #[derive(Clone)]
/// struct Account {
///     id: u64,
/// }
/// mock_core::unscoped_record!(Account);
/// assert_eq!(mock_core::Record::key(&Account { id: 7 }), "7");
///
/// #[derive(Clone)]
/// struct Member {
///     id: u64,
///     email: String,
/// }
/// // With secondary keys (read with `Table::lookup`):
/// mock_core::unscoped_record!(Member, lookups = |m| vec![("email", m.email.clone())], unique = &["email"]);
/// ```
#[macro_export]
macro_rules! unscoped_record {
    ($t:ty $(, lookups = $lookups:expr)? $(, unique = $unique:expr)?) => {
        impl $crate::Record for $t {
            type Scope = ();
            const KEY_IS_SEQ: bool = true;
            $(const UNIQUE: &'static [&'static str] = $unique;)?
            fn scope(&self) {}
            fn seq(&self) -> u64 {
                self.id
            }
            fn key(&self) -> String {
                self.id.to_string()
            }
            $(
                fn lookups(&self) -> Vec<(&'static str, String)> {
                    let lookups: fn(&Self) -> Vec<(&'static str, String)> = $lookups;
                    lookups(self)
                }
            )?
        }
    };
}

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
    /// Whether [`Record::key`] is always [`Record::seq`] written in decimal (a numeric id that is
    /// also the creation order, as every Payt record's). Such a table keeps no key index: a key is
    /// read as its number and found by binary search in the partitions, which saves the index's
    /// 24 bytes and more per record (a large world's tables hold millions).
    const KEY_IS_SEQ: bool = false;
    /// When the record last changed, for tables read by change (`updated_after`): the table
    /// keeps its records in this order too. `None` (the default) keeps no such order.
    fn changed(&self) -> Option<DateTime<Utc>> {
        None
    }
    /// The secondary keys the table finds this record by (`(name, value)`: the debtor an
    /// invoice belongs to, a client's own reference), read with [`Table::lookup`] and
    /// [`Hint::Lookup`] without testing every record. None by default.
    fn lookups(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// The secondary keys ([`Record::lookups`]) that are unique within a scope (a business key:
    /// an invoice's number, a VAT rate's code): [`Table::insert`] refuses a record with a value
    /// another record of its scope already has under one of them
    /// ([`StoreError::DuplicateLookup`]), and [`Table::update`] must not make one (checked in debug
    /// builds). Handlers still look first, to answer with the vendor's own error; the index is
    /// what guarantees it. None by default.
    const UNIQUE: &'static [&'static str] = &[];
}

/// Why a store operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A record with that key or sequence number is already stored.
    #[error("a record with key {0} already exists")]
    Duplicate(String),
    /// Another record of the scope already has this value under a unique secondary key.
    #[error("a record with {name} {value} already exists")]
    DuplicateLookup {
        /// The secondary key.
        name: &'static str,
        /// Its value.
        value: String,
    },
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
/// Records are shared (`Arc`) and copied on write, and so are each scope's partition and the key
/// index: cloning a table (a world made from a template, a reset, a snapshot) copies one pointer
/// per scope, and a later write copies only the partition and the record it changes.
///
/// Each partition also keeps its records ordered by when they changed ([`Record::changed`]), so
/// a page of the records changed after a moment (`updated_after`) is read from that order rather
/// than by testing every record, when few records match (see [`Table::page_after_shared`]).
///
/// The key index and the secondary keys hold no copy of a key: an entry is the key's hash and
/// where its records are, and a candidate is confirmed against the record itself (its
/// [`Record::key`] or [`Record::lookups`]). A million records thus cost 24 bytes of index each
/// instead of a map entry and a string of their own, and nothing for a record whose key is its
/// sequence number ([`Record::KEY_IS_SEQ`]): that key is found in the partitions' sorted rows.
#[derive(Debug, Clone)]
pub struct Table<V: Record> {
    parts: HashMap<V::Scope, Arc<Part<V>>, Hasher>,
    index: Arc<HashTable<Keyed<V::Scope>>>,
}

/// An entry of a table's key index: the record with a key of this hash.
#[derive(Debug, Clone)]
struct Keyed<S> {
    hash: u64,
    scope: S,
    seq: u64,
}

/// The records of one scope.
#[derive(Debug)]
struct Part<V> {
    /// In sequence order.
    rows: Vec<Arc<V>>,
    /// `(change_key(changed), seq)` of every record that says when it changed.
    by_change: BTreeSet<(i64, u64)>,
    /// The sequence numbers of the records under each secondary key, by the hash of its value.
    by_lookup: HashMap<&'static str, HashTable<Under>, Hasher>,
}

/// The hasher of the store's maps: foldhash, several times faster than the standard library's
/// SipHash on the short keys a store holds (ids, numbers, references); none of them is a
/// defence against collisions chosen by a client, and the process is a local mock.
type Hasher = foldhash::fast::RandomState;

/// A map with the store's hasher.
fn map<K, V>() -> HashMap<K, V, Hasher> {
    HashMap::with_hasher(Hasher::default())
}

/// The hash of a key or a secondary key's value in the index tables: foldhash with a fixed seed,
/// so that a table and its clones agree on it.
fn hash_of(text: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(text)
}

/// The hash of a secondary key's value: [`hash_of`] kept in 32 bits (an entry then takes two
/// words with its tag, see [`Under`]) and spread back over 64 by an odd multiplier, so that the
/// hash table's bucket and tag bits are both well mixed. Two values may share it; a candidate is
/// confirmed against its record, as with the full hash.
fn lookup_hash(value: &str) -> u64 {
    spread(narrow_hash(value))
}

/// The 32 bits of [`hash_of`] that a secondary key's entry keeps.
fn narrow_hash(value: &str) -> u32 {
    (hash_of(value) >> 32) as u32
}

fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// An entry of a secondary key: the records under a value of this [`lookup_hash`] (its 32 bits),
/// in sequence order. One record needs no heap allocation (most keys, a number or a reference,
/// select one record); more are behind one pointer. Either way an entry is two words: a
/// million-record table's key costs 16 bytes an entry, not 24.
#[derive(Debug, Clone)]
enum Under {
    One {
        hash: u32,
        seq: u64,
    },
    #[expect(
        clippy::box_collection,
        reason = "one pointer, not three: a secondary key's entry stays at two words"
    )]
    Many {
        hash: u32,
        seqs: Box<Vec<u64>>,
    },
}

impl Under {
    fn hash(&self) -> u64 {
        match self {
            Under::One { hash, .. } | Under::Many { hash, .. } => spread(*hash),
        }
    }

    fn as_slice(&self) -> &[u64] {
        match self {
            Under::One { seq, .. } => std::slice::from_ref(seq),
            Under::Many { seqs, .. } => seqs,
        }
    }

    fn contains(&self, seq: u64) -> bool {
        self.as_slice().binary_search(&seq).is_ok()
    }

    fn insert(&mut self, seq: u64) {
        match self {
            Under::One { seq: one, .. } if *one == seq => {}
            Under::One { hash, seq: one } => {
                let mut seqs = vec![*one, seq];
                seqs.sort_unstable();
                *self = Under::Many {
                    hash: *hash,
                    seqs: Box::new(seqs),
                };
            }
            Under::Many { seqs, .. } => {
                if let Err(at) = seqs.binary_search(&seq) {
                    seqs.insert(at, seq);
                }
            }
        }
    }

    /// Takes `seq` out; whether none is left.
    fn remove(&mut self, seq: u64) -> bool {
        match self {
            Under::One { seq: one, .. } => *one == seq,
            Under::Many { hash, seqs } => {
                if let Ok(at) = seqs.binary_search(&seq) {
                    seqs.remove(at);
                }
                match seqs.as_slice() {
                    [] => true,
                    [one] => {
                        *self = Under::One { hash: *hash, seq: *one };
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

impl<V> Clone for Part<V> {
    fn clone(&self) -> Self {
        Self {
            rows: self.rows.clone(),
            by_change: self.by_change.clone(),
            by_lookup: self.by_lookup.clone(),
        }
    }
}

impl<V> Default for Part<V> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            by_change: BTreeSet::new(),
            by_lookup: map(),
        }
    }
}

/// The key of moment `at` in a partition's change order: microseconds since the epoch (chrono's
/// whole range fits), so that an entry takes 16 bytes with its sequence number where a
/// `DateTime<Utc>` would make it 24, and a B-tree leaf of 11 entries fits 192 bytes instead of
/// 280. Moments within one microsecond share a key; a walk tells them apart by the records'
/// own moments.
fn change_key(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The row of `seq` in `rows` (sorted by sequence).
fn row<V: Record>(rows: &[Arc<V>], seq: u64) -> Option<&V> {
    position_of(rows, seq).map(|i| &*rows[i])
}

/// Where record `seq` is in `rows` (sorted by sequence). Sequence numbers of a scope are mostly
/// consecutive (one id generator per table), so the row at `seq`'s distance from the first is
/// tried before the binary search: a lookup by id in a million rows reads one or two records.
fn position_of<V: Record>(rows: &[Arc<V>], seq: u64) -> Option<usize> {
    let first = rows.first()?.seq();
    if seq < first || rows.last().is_some_and(|last| seq > last.seq()) {
        // Outside the partition's range (a new record is after the last): no search.
        return None;
    }
    let guess = seq.checked_sub(first).and_then(|d| usize::try_from(d).ok());
    if let Some(i) = guess
        && rows.get(i).is_some_and(|v| v.seq() == seq)
    {
        return Some(i);
    }
    rows.binary_search_by_key(&seq, |v| v.seq()).ok()
}

/// The sequence number a key of a [`Record::KEY_IS_SEQ`] record names: its decimal text exactly
/// (`7`, not `07` or `+7`), as [`Record::key`] writes it.
fn seq_of_key(key: &str) -> Option<u64> {
    let canonical = key.bytes().all(|b| b.is_ascii_digit()) && (key == "0" || !key.starts_with('0'));
    if canonical { key.parse().ok() } else { None }
}

/// Whether the records of `under` are those under `name` = `value`: its first record says so
/// (an entry holds the records of one value).
fn is_under<V: Record>(rows: &[Arc<V>], under: &Under, hash: u64, name: &str, value: &str) -> bool {
    under.hash() == hash
        && under
            .as_slice()
            .first()
            .and_then(|seq| row(rows, *seq))
            .is_some_and(|v| v.lookups().iter().any(|(n, found)| *n == name && found == value))
}

impl<V: Record> Part<V> {
    fn find(&self, seq: u64) -> Option<usize> {
        position_of(&self.rows, seq)
    }

    /// Puts record `seq` (already among the rows) under its secondary keys.
    fn index_lookups(&mut self, lookups: Vec<(&'static str, String)>, seq: u64) {
        for (name, value) in lookups {
            let narrow = narrow_hash(&value);
            let hash = spread(narrow);
            let rows = &self.rows;
            let keys = self.by_lookup.entry(name).or_default();
            match keys.find_mut(hash, |u| is_under(rows, u, hash, name, &value)) {
                Some(under) => under.insert(seq),
                None => {
                    let entry = Under::One { hash: narrow, seq };
                    keys.insert_unique(hash, entry, Under::hash);
                }
            }
        }
    }

    /// Takes record `seq` from under the secondary keys it was indexed with. The entry is the one
    /// of the value's hash that holds `seq` (the record itself may have changed already).
    fn unindex_lookups(&mut self, lookups: Vec<(&'static str, String)>, seq: u64) {
        for (name, value) in lookups {
            let hash = lookup_hash(&value);
            if let Some(keys) = self.by_lookup.get_mut(name)
                && let Ok(mut entry) = keys.find_entry(hash, |u| u.hash() == hash && u.contains(seq))
                && entry.get_mut().remove(seq)
            {
                entry.remove();
            }
        }
    }

    /// The first of `lookups` under a unique secondary key ([`Record::UNIQUE`]) whose value a
    /// record other than `except` already has.
    fn taken(&self, lookups: &[(&'static str, String)], except: Option<u64>) -> Option<(&'static str, String)> {
        lookups
            .iter()
            .filter(|(name, _)| V::UNIQUE.contains(name))
            .find(|(name, value)| self.under(name, value).iter().any(|seq| Some(*seq) != except))
            .cloned()
    }

    /// The sequence numbers under a secondary key.
    fn under(&self, name: &'static str, value: &str) -> &[u64] {
        let hash = lookup_hash(value);
        self.by_lookup
            .get(name)
            .and_then(|keys| keys.find(hash, |u| is_under(&self.rows, u, hash, name, value)))
            .map_or(&[], Under::as_slice)
    }

    /// Whether every record is in the change order, so that the order can answer for all.
    fn change_order_complete(&self) -> bool {
        self.by_change.len() == self.rows.len()
    }
}

/// How many records a change-order read collects at most before it falls back to testing the
/// records in sequence order: with more matches than this, a page fills within a few scans.
#[cfg(not(test))]
const CHANGE_ORDER_LIMIT: usize = 8192;
/// Small in tests, so that both ways of reading are exercised.
#[cfg(test)]
const CHANGE_ORDER_LIMIT: usize = 8;

impl<V: Record> Default for Table<V> {
    fn default() -> Self {
        Self {
            parts: map(),
            index: Arc::new(HashTable::new()),
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
        self.parts.values().map(|p| p.rows.len()).sum()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.parts.values().all(|p| p.rows.is_empty())
    }

    /// How many records one scope holds.
    pub fn scope_len(&self, scope: &V::Scope) -> usize {
        self.parts.get(scope).map_or(0, |p| p.rows.len())
    }

    /// Where the record with `key` (of hash `hash`) is: its scope and sequence number.
    fn locate(&self, hash: u64, key: &str) -> Option<(&V::Scope, u64)> {
        if V::KEY_IS_SEQ {
            let seq = seq_of_key(key)?;
            return self
                .parts
                .iter()
                .find(|(_, p)| p.find(seq).is_some())
                .map(|(scope, _)| (scope, seq));
        }
        let parts = &self.parts;
        self.index
            .find(hash, |k| {
                k.hash == hash
                    && parts
                        .get(&k.scope)
                        .and_then(|p| row(&p.rows, k.seq))
                        .is_some_and(|v| v.key() == key)
            })
            .map(|k| (&k.scope, k.seq))
    }

    /// Stores a new record. Its key and its sequence number must be new; a sequence number below the
    /// last one of its scope (two concurrent writers) is put in its sorted place.
    pub fn insert(&mut self, record: V) -> Result<(), StoreError> {
        let key = record.key();
        let hash = hash_of(&key);
        if self.locate(hash, &key).is_some() {
            return Err(StoreError::Duplicate(key));
        }
        let scope = record.scope();
        let lookups = record.lookups();
        if let Some(part) = self.parts.get(&scope)
            && let Some((name, value)) = part.taken(&lookups, None)
        {
            return Err(StoreError::DuplicateLookup { name, value });
        }
        let part = Arc::make_mut(self.parts.entry(scope.clone()).or_default());
        let seq = record.seq();
        let changed = record.changed();
        let record = Arc::new(record);
        match part.rows.last() {
            // The common case: sequence numbers grow, so the record goes at the end.
            None => part.rows.push(record),
            Some(last) if last.seq() < seq => part.rows.push(record),
            // Two writers took their sequence numbers before taking the lock and arrive in the
            // other order: keep the partition sorted.
            Some(_) => match part.rows.binary_search_by_key(&seq, |v| v.seq()) {
                Ok(_) => return Err(StoreError::Duplicate(key)),
                Err(at) => part.rows.insert(at, record),
            },
        }
        if let Some(at) = changed {
            part.by_change.insert((change_key(at), seq));
        }
        part.index_lookups(lookups, seq);
        if V::KEY_IS_SEQ {
            debug_assert_eq!(seq_of_key(&key), Some(seq), "a KEY_IS_SEQ record's key is its seq");
        } else {
            Arc::make_mut(&mut self.index).insert_unique(hash, Keyed { hash, scope, seq }, |k| k.hash);
        }
        Ok(())
    }

    fn position(&self, scope: &V::Scope, seq: u64) -> Option<&Arc<V>> {
        let part = self.parts.get(scope)?;
        part.find(seq).map(|i| &part.rows[i])
    }

    /// The record with `key` in `scope`.
    pub fn get(&self, scope: &V::Scope, key: &str) -> Option<&V> {
        self.get_shared_ref(scope, key).map(|v| &**v)
    }

    /// The record with `key` in `scope`, shared: for reading it after the store's lock is let go.
    pub fn get_shared(&self, scope: &V::Scope, key: &str) -> Option<Arc<V>> {
        self.get_shared_ref(scope, key).cloned()
    }

    fn get_shared_ref(&self, scope: &V::Scope, key: &str) -> Option<&Arc<V>> {
        let seq = self.locate_in(scope, hash_of(key), key)?;
        self.position(scope, seq)
    }

    /// The sequence number of the record with `key` if it is in `scope`.
    fn locate_in(&self, scope: &V::Scope, hash: u64, key: &str) -> Option<u64> {
        if V::KEY_IS_SEQ {
            let seq = seq_of_key(key)?;
            return self.parts.get(scope)?.find(seq).map(|_| seq);
        }
        let (s, seq) = self.locate(hash, key)?;
        (s == scope).then_some(seq)
    }

    /// The record with `key`, whatever its scope.
    pub fn find(&self, key: &str) -> Option<&V> {
        let (scope, seq) = self.locate(hash_of(key), key)?;
        self.position(scope, seq).map(|v| &**v)
    }

    /// Changes the record with `key` in `scope` and returns what `change` returns.
    ///
    /// `change` must not alter the record's key, scope or sequence.
    pub fn update<R>(&mut self, scope: &V::Scope, key: &str, change: impl FnOnce(&mut V) -> R) -> Option<R> {
        let seq = self.locate_in(scope, hash_of(key), key)?;
        let part = Arc::make_mut(self.parts.get_mut(scope)?);
        let i = part.find(seq)?;
        let record = Arc::make_mut(&mut part.rows[i]);
        let before = record.changed();
        let lookups_before = record.lookups();
        let out = change(record);
        debug_assert_eq!(record.key(), key, "update must not change the key");
        debug_assert_eq!(record.seq(), seq, "update must not change the sequence");
        let after = record.changed();
        let lookups_after = record.lookups();
        if lookups_before != lookups_after {
            debug_assert!(
                part.taken(&lookups_after, Some(seq)).is_none(),
                "update must not give a record a unique secondary key another record has"
            );
            part.unindex_lookups(lookups_before, seq);
            part.index_lookups(lookups_after, seq);
        }
        if before != after {
            if let Some(at) = before {
                part.by_change.remove(&(change_key(at), seq));
            }
            if let Some(at) = after {
                part.by_change.insert((change_key(at), seq));
            }
        }
        Some(out)
    }

    /// Removes the record with `key` in `scope`.
    pub fn remove(&mut self, scope: &V::Scope, key: &str) -> Option<V> {
        let hash = hash_of(key);
        let seq = self.locate_in(scope, hash, key)?;
        let part = Arc::make_mut(self.parts.get_mut(scope)?);
        let i = part.find(seq)?;
        if !V::KEY_IS_SEQ
            && let Ok(entry) = Arc::make_mut(&mut self.index).find_entry(hash, |k| k.seq == seq && k.scope == *scope)
        {
            entry.remove();
        }
        let record = part.rows.remove(i);
        if let Some(at) = record.changed() {
            part.by_change.remove(&(change_key(at), seq));
        }
        part.unindex_lookups(record.lookups(), seq);
        Some(Arc::unwrap_or_clone(record))
    }

    /// All records of a scope in sequence order (the iterator borrows the table, not `scope`).
    pub fn iter<'a>(&'a self, scope: &V::Scope) -> impl Iterator<Item = &'a V> + use<'a, V> {
        self.parts
            .get(scope)
            .into_iter()
            .flat_map(|p| p.rows.iter())
            .map(|v| &**v)
    }

    /// [`Table::iter`] with the records as the table shares them (an answer that sorts them its
    /// own way keeps the shared records rather than copies).
    pub fn iter_shared<'a>(&'a self, scope: &V::Scope) -> impl Iterator<Item = &'a Arc<V>> + use<'a, V> {
        self.parts.get(scope).into_iter().flat_map(|p| p.rows.iter())
    }

    /// The scopes that hold records (in no particular order).
    pub fn scopes(&self) -> impl Iterator<Item = &V::Scope> {
        self.parts.iter().filter(|(_, p)| !p.rows.is_empty()).map(|(s, _)| s)
    }

    /// [`Table::iter_all`] with the records as the table shares them (a caller that remembers
    /// something per record tells an unchanged record by its allocation: an update gives a record
    /// that is shared a new one).
    pub fn iter_all_shared(&self) -> impl Iterator<Item = &Arc<V>> {
        self.parts.values().flat_map(|p| p.rows.iter())
    }

    /// The records of `scope` under the secondary key `name` = `value` ([`Record::lookups`]), in
    /// sequence order. The iterator borrows the table only, not `scope` or `value`.
    pub fn lookup<'a>(
        &'a self,
        scope: &V::Scope,
        name: &'static str,
        value: &str,
    ) -> impl Iterator<Item = &'a V> + use<'a, V> {
        let part = self.parts.get(scope);
        let seqs = part.map_or(&[][..], |p| p.under(name, value));
        seqs.iter()
            .filter_map(move |seq| part.and_then(|p| p.find(*seq).map(|i| &*p.rows[i])))
    }

    /// All records of all scopes (scopes in no particular order).
    pub fn iter_all(&self) -> impl Iterator<Item = &V> {
        self.parts.values().flat_map(|p| p.rows.iter()).map(|v| &**v)
    }

    /// Up to `limit` records of `scope` that come after sequence `after` and match `filter`.
    pub fn page_after(
        &self,
        scope: &V::Scope,
        after: Option<u64>,
        limit: usize,
        filter: impl Fn(&V) -> bool,
    ) -> CursorPage<V> {
        let page = self.page_after_shared(scope, after, limit, Hint::None, filter);
        CursorPage {
            items: page.items.iter().map(|v| V::clone(v)).collect(),
            has_more: page.has_more,
        }
    }

    /// Up to `limit` records of `scope` that come after sequence `after` and match `filter`,
    /// shared (no record is copied), with `hint` saying what `filter` implies so the page can be
    /// read without testing every record.
    ///
    /// With [`Hint::ChangedAfter`] and every record of the scope in the change order, the records
    /// changed after that moment are taken from it when there are at most a few thousand (then
    /// ordered by sequence and tested with `filter`); with more, the page fills within a short
    /// scan in sequence order. [`Hint::Seqs`] reads just those records. `filter` is applied in
    /// every case: a hint only narrows where the page is looked for.
    pub fn page_after_shared(
        &self,
        scope: &V::Scope,
        after: Option<u64>,
        limit: usize,
        hint: Hint<'_>,
        filter: impl Fn(&V) -> bool,
    ) -> CursorPage<Arc<V>> {
        let Some(part) = self.parts.get(scope) else {
            return CursorPage {
                items: Vec::new(),
                has_more: false,
            };
        };
        let later = |seq: u64| after.is_none_or(|a| seq > a);
        let candidates: Option<Vec<u64>> = match hint {
            Hint::None => None,
            Hint::Seqs(seqs) => {
                let mut seqs: Vec<u64> = seqs.iter().copied().filter(|s| later(*s)).collect();
                seqs.sort_unstable();
                seqs.dedup();
                Some(seqs)
            }
            Hint::ChangedAfter(at) if part.change_order_complete() => {
                let mut seqs = Vec::new();
                let mut complete = true;
                let key = change_key(at);
                for &(k, seq) in part.by_change.range((Bound::Included((key, 0)), Bound::Unbounded)) {
                    // The moment's own microsecond may hold records changed at or before it.
                    let after_at = k > key || row(&part.rows, seq).and_then(Record::changed).is_some_and(|c| c > at);
                    if after_at && later(seq) {
                        if seqs.len() == CHANGE_ORDER_LIMIT {
                            complete = false;
                            break;
                        }
                        seqs.push(seq);
                    }
                }
                complete.then(|| {
                    seqs.sort_unstable();
                    seqs
                })
            }
            Hint::ChangedAfter(_) => None,
            Hint::Lookup(name, value) | Hint::Exact(name, value) => {
                let seqs = part.under(name, value);
                let start = after.map_or(0, |a| seqs.partition_point(|s| *s <= a));
                let seqs = &seqs[start..];
                // An exact key needs no test: one more than the page says whether more follow.
                let seqs = match hint {
                    Hint::Exact(..) => &seqs[..seqs.len().min(limit.saturating_add(1))],
                    _ => seqs,
                };
                Some(seqs.to_vec())
            }
        };
        let mut items = Vec::with_capacity(limit.min(part.rows.len()));
        let mut has_more = false;
        let mut take = |v: &Arc<V>| {
            if !filter(v) {
                return true;
            }
            if items.len() == limit {
                has_more = true;
                return false;
            }
            items.push(Arc::clone(v));
            true
        };
        match candidates {
            Some(seqs) => {
                for seq in seqs {
                    if let Some(i) = part.find(seq)
                        && !take(&part.rows[i])
                    {
                        break;
                    }
                }
            }
            None => {
                let start = after.map_or(0, |a| part.rows.partition_point(|v| v.seq() <= a));
                for v in &part.rows[start..] {
                    if !take(v) {
                        break;
                    }
                }
            }
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
        let page = self.page_offset_shared(scope, offset, limit, Hint::None, filter);
        OffsetPage {
            items: page.items.iter().map(|v| V::clone(v)).collect(),
            count: page.count,
        }
    }

    /// [`Table::page_offset`] with the records shared rather than copied, and a hint: with
    /// [`Hint::Lookup`] (or [`Hint::Seqs`]) only the records under that key are tested and
    /// counted, so a filtered page of a large scope costs what the key selects.
    pub fn page_offset_shared(
        &self,
        scope: &V::Scope,
        offset: usize,
        limit: usize,
        hint: Hint<'_>,
        filter: Option<&dyn Fn(&V) -> bool>,
    ) -> OffsetPage<Arc<V>> {
        let Some(part) = self.parts.get(scope) else {
            return OffsetPage {
                items: Vec::new(),
                count: 0,
            };
        };
        let rows = &part.rows;
        if let Hint::Exact(name, value) = hint {
            let seqs = part.under(name, value);
            let start = offset.min(seqs.len());
            let end = start.saturating_add(limit).min(seqs.len());
            let items: Vec<Arc<V>> = seqs[start..end]
                .iter()
                .filter_map(|s| part.find(*s).map(|i| Arc::clone(&rows[i])))
                .collect();
            debug_assert!(
                items.iter().all(|v| filter.is_none_or(|f| f(v))),
                "Hint::Exact({name}) given for a filter that is not exactly that key"
            );
            return OffsetPage {
                items,
                count: seqs.len(),
            };
        }
        let candidates: Option<Cow<'_, [u64]>> = match hint {
            Hint::Lookup(name, value) => Some(Cow::Borrowed(part.under(name, value))),
            Hint::Seqs(seqs) => {
                let mut seqs = seqs.to_vec();
                seqs.sort_unstable();
                seqs.dedup();
                Some(Cow::Owned(seqs))
            }
            Hint::None | Hint::ChangedAfter(_) | Hint::Exact(..) => None,
        };
        if let Some(seqs) = candidates {
            let mut count = 0;
            let mut items = Vec::new();
            for v in seqs.iter().filter_map(|s| part.find(*s).map(|i| &rows[i])) {
                if filter.is_none_or(|f| f(v)) {
                    if count >= offset && items.len() < limit {
                        items.push(Arc::clone(v));
                    }
                    count += 1;
                }
            }
            return OffsetPage { items, count };
        }
        match filter {
            None => {
                let start = offset.min(rows.len());
                let end = start.saturating_add(limit).min(rows.len());
                OffsetPage {
                    items: rows[start..end].to_vec(),
                    count: rows.len(),
                }
            }
            Some(f) => {
                let mut count = 0;
                let mut items = Vec::new();
                for v in rows.iter().filter(|v| f(v)) {
                    if count >= offset && items.len() < limit {
                        items.push(Arc::clone(v));
                    }
                    count += 1;
                }
                OffsetPage { items, count }
            }
        }
    }
}

/// What a page's filter implies, so that [`Table::page_after_shared`] can look in the right place.
#[derive(Debug, Clone, Copy, Default)]
pub enum Hint<'a> {
    /// Nothing: the records are tested in sequence order.
    #[default]
    None,
    /// The filter keeps only records that changed after this moment ([`Record::changed`]).
    ChangedAfter(DateTime<Utc>),
    /// The filter keeps only records with these sequence numbers.
    Seqs(&'a [u64]),
    /// The filter keeps only records under this secondary key ([`Record::lookups`]).
    Lookup(&'static str, &'a str),
    /// The filter keeps exactly the records under this secondary key: the page and its count are
    /// read from the key's sequence numbers without testing a record (a filter on one indexed
    /// field and nothing else), so a key that selects most of a large scope costs only the page.
    Exact(&'static str, &'a str),
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
        fn changed(&self) -> Option<DateTime<Utc>> {
            // Tag 9 says nothing of when it changed: its scope's change order is incomplete.
            // Records of one tag changed within the same microsecond, 300 ns apart by sequence.
            let nanos = (self.seq % 3) as u32 * 300;
            (self.tag != 9)
                .then(|| DateTime::from_timestamp(i64::from(self.tag) * 60, nanos))
                .flatten()
        }
        fn lookups(&self) -> Vec<(&'static str, String)> {
            vec![("tag", self.tag.to_string())]
        }
    }

    /// A [`Row`] that says its key is its sequence number: the table keeps no key index for it.
    #[derive(Debug, Clone, PartialEq)]
    struct SeqRow(Row);

    impl Record for SeqRow {
        type Scope = u8;
        const KEY_IS_SEQ: bool = true;
        fn scope(&self) -> u8 {
            self.0.scope
        }
        fn seq(&self) -> u64 {
            self.0.seq
        }
        fn key(&self) -> String {
            self.0.key()
        }
        fn changed(&self) -> Option<DateTime<Utc>> {
            self.0.changed()
        }
        fn lookups(&self) -> Vec<(&'static str, String)> {
            self.0.lookups()
        }
    }

    fn minute(n: u8) -> DateTime<Utc> {
        DateTime::from_timestamp(i64::from(n) * 60, 0).expect("in range")
    }

    #[test]
    fn a_table_names_the_scopes_that_hold_records() {
        let t = table(&[(3, 0), (1, 0), (3, 1)]);
        let mut scopes: Vec<u8> = t.scopes().copied().collect();
        scopes.sort_unstable();
        assert_eq!(scopes, [1, 3]);
        assert_eq!(Table::<Row>::new().scopes().count(), 0);
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

    /// A row whose tag is a unique secondary key (and whose parity is not).
    #[derive(Debug, Clone, PartialEq)]
    struct Coded(Row);

    impl Record for Coded {
        type Scope = u8;
        const UNIQUE: &'static [&'static str] = &["tag"];
        fn scope(&self) -> u8 {
            self.0.scope
        }
        fn seq(&self) -> u64 {
            self.0.seq
        }
        fn key(&self) -> String {
            self.0.key()
        }
        fn lookups(&self) -> Vec<(&'static str, String)> {
            vec![
                ("tag", self.0.tag.to_string()),
                ("parity", (self.0.tag % 2).to_string()),
            ]
        }
    }

    #[test]
    fn a_unique_secondary_key_refuses_a_second_record_of_its_scope() {
        let row = |scope, seq, tag| Coded(Row { scope, seq, tag });
        let mut t = Table::new();
        t.insert(row(1, 1, 4)).expect("fresh");
        assert_eq!(
            t.insert(row(1, 2, 4)),
            Err(StoreError::DuplicateLookup {
                name: "tag",
                value: "4".into()
            })
        );
        assert_eq!(t.len(), 1, "the refused record is not stored");
        assert_eq!(t.lookup(&1, "tag", "4").count(), 1);
        // Another scope may have it; a key that is not unique (parity) may repeat.
        t.insert(row(2, 3, 4)).expect("another scope");
        t.insert(row(1, 4, 6)).expect("same parity, another tag");
        assert_eq!(t.lookup(&1, "parity", "0").count(), 2);
        // A value given up by an update is free again.
        t.update(&1, "1", |r| r.0.tag = 8).expect("stored");
        t.insert(row(1, 5, 4)).expect("4 is free again");
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
    fn index_entries_hold_no_key() {
        // The hash, the scope and the sequence number: no copy of the key, no heap; a secondary
        // key's entry is 32 bits of hash and the record's sequence number (or a pointer).
        assert_eq!(std::mem::size_of::<Keyed<u64>>(), 24);
        assert_eq!(std::mem::size_of::<Under>(), 16);
        let mut t = table(&[(1, 3), (1, 3), (2, 4)]);
        assert_eq!(t.lookup(&1, "tag", "3").map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        t.update(&1, "1", |r| r.tag = 4);
        assert_eq!(t.lookup(&1, "tag", "3").map(|r| r.seq).collect::<Vec<_>>(), [2]);
        assert_eq!(t.lookup(&1, "tag", "4").map(|r| r.seq).collect::<Vec<_>>(), [1]);
        assert!(t.remove(&1, "2").is_some());
        assert_eq!(t.lookup(&1, "tag", "3").count(), 0);
        assert!(t.find("2").is_none() && t.find("3").is_some() && t.len() == 2);
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

        /// A page read through a hint is the page the filter alone gives, after any inserts,
        /// updates and removals, whether the change order or the sequence order serves it.
        #[test]
        fn hinted_pages_equal_plain_pages(
            rows in proptest::collection::vec((0u8..2, 0u8..6), 0..80),
            changes in proptest::collection::vec((1u64..90, 0u8..10, any::<bool>()), 0..40),
            per_page in 1usize..12, since in 0u8..6, cursor in proptest::option::of(0u64..90),
            seqs in proptest::collection::vec(0u64..90, 0..20), since_nanos in 0u32..4,
        ) {
            // A moment inside the microsecond the records of a tag share, or at its edges.
            let since_at = minute(since) + chrono::Duration::nanoseconds(i64::from(since_nanos) * 300 - 1);
            let mut t = table(&rows);
            for (seq, tag, remove) in changes {
                let key = seq.to_string();
                let Some(scope) = t.find(&key).map(|r| r.scope) else { continue };
                if remove {
                    prop_assert!(t.remove(&scope, &key).is_some());
                } else {
                    t.update(&scope, &key, |r| r.tag = tag);
                }
            }
            let changed_after = |r: &Row| r.changed().is_some_and(|c| c > since_at);
            for scope in 0u8..2 {
                let plain = t.page_after_shared(&scope, cursor, per_page, Hint::None, changed_after);
                let hinted = t.page_after_shared(&scope, cursor, per_page, Hint::ChangedAfter(since_at), changed_after);
                prop_assert_eq!(&plain, &hinted);
                let wanted = |r: &Row| seqs.contains(&r.seq);
                let plain = t.page_after_shared(&scope, cursor, per_page, Hint::None, wanted);
                let hinted = t.page_after_shared(&scope, cursor, per_page, Hint::Seqs(&seqs), wanted);
                prop_assert_eq!(&plain, &hinted);
                let tag = since.to_string();
                let tagged = |r: &Row| r.tag == since;
                let plain = t.page_after_shared(&scope, cursor, per_page, Hint::None, tagged);
                let hinted = t.page_after_shared(&scope, cursor, per_page, Hint::Lookup("tag", &tag), tagged);
                prop_assert_eq!(&plain, &hinted);
                let offset = cursor.map_or(0, |c| c as usize % 7);
                let plain = t.page_offset_shared(&scope, offset, per_page, Hint::None, Some(&tagged));
                let hinted = t.page_offset_shared(&scope, offset, per_page, Hint::Lookup("tag", &tag), Some(&tagged));
                prop_assert_eq!(&plain, &hinted);
                let exact = t.page_offset_shared(&scope, offset, per_page, Hint::Exact("tag", &tag), Some(&tagged));
                prop_assert_eq!(&plain, &exact);
                let plain = t.page_after_shared(&scope, cursor, per_page, Hint::None, tagged);
                let exact = t.page_after_shared(&scope, cursor, per_page, Hint::Exact("tag", &tag), tagged);
                prop_assert_eq!(&plain, &exact);
                let looked_up: Vec<u64> = t.lookup(&scope, "tag", &tag).map(|r| r.seq).collect();
                let scanned: Vec<u64> = t.iter(&scope).filter(|r| tagged(r)).map(|r| r.seq).collect();
                prop_assert_eq!(looked_up, scanned);
                // A clone shares the partitions; writing to it leaves the original as it was.
                let mut cloned = t.clone();
                let before = t.page_after_shared(&scope, cursor, per_page, Hint::ChangedAfter(since_at), changed_after);
                let first = cloned.iter(&scope).next().map(|r| r.seq.to_string());
                if let Some(key) = first {
                    cloned.update(&scope, &key, |r| r.tag = 5);
                }
                let after = t.page_after_shared(&scope, cursor, per_page, Hint::ChangedAfter(since_at), changed_after);
                prop_assert_eq!(before, after);
            }
        }

        /// A table of records whose key is their sequence number (no key index) finds, updates,
        /// removes and refuses exactly what a table with the index does, whatever key is asked
        /// for (`07`, `+7` and the empty key name no record).
        #[test]
        fn key_is_seq_tables_agree_with_indexed_ones(
            ops in proptest::collection::vec((0u8..4, 0u8..3, 0u64..30, 0u8..4), 0..120),
            asked in proptest::collection::vec(prop_oneof![
                (0u64..30).prop_map(|n| n.to_string()),
                (0u64..30).prop_map(|n| format!("0{n}")),
                (0u64..30).prop_map(|n| format!("+{n}")),
                Just(String::new()),
            ], 0..20),
        ) {
            let mut indexed: Table<Row> = Table::new();
            let mut plain: Table<SeqRow> = Table::new();
            for (op, scope, seq, tag) in ops {
                let key = seq.to_string();
                let row = Row { scope, seq, tag };
                match op {
                    0 | 1 => prop_assert_eq!(indexed.insert(row.clone()), plain.insert(SeqRow(row))),
                    2 => prop_assert_eq!(
                        indexed.update(&scope, &key, |r| r.tag = tag),
                        plain.update(&scope, &key, |r| r.0.tag = tag)
                    ),
                    _ => prop_assert_eq!(indexed.remove(&scope, &key), plain.remove(&scope, &key).map(|r| r.0)),
                }
                prop_assert_eq!(indexed.len(), plain.len());
                prop_assert_eq!(indexed.is_empty(), plain.is_empty());
            }
            for key in asked {
                prop_assert_eq!(indexed.find(&key), plain.find(&key).map(|r| &r.0));
                for scope in 0u8..3 {
                    prop_assert_eq!(indexed.get(&scope, &key), plain.get(&scope, &key).map(|r| &r.0));
                }
            }
        }
    }
}
