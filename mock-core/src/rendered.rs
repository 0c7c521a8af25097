//! The bytes of records already written: a page of records that have not changed since they were
//! last shown costs a copy of their bytes, not their serialization (which is most of a page's
//! cost: a page of 100 Payt invoices is 136 KB of escaped, formatted JSON).
//!
//! A vendor writes a page's records with [`write_seq`], naming for each record what else its bytes
//! depend on (the `context`: Payt's opt-in list and an invoice's derived properties, paywise's
//! origin for its `href`s; the `projection`: Payt's `fields`). An entry is found by the record's
//! allocation and confirmed by it:
//!
//! - it holds a [`Weak`] to the record, so the allocation cannot be reused by another record
//!   while the entry lives, and the same address is the same allocation;
//! - a stored record never changes in place while an entry points at it: the store changes a
//!   record with `Arc::make_mut` ([`crate::store::Table::update`]), which moves a record that has
//!   weak references into a new allocation, so a changed record is a new address and a miss;
//! - the entry keeps the context and projection it was written with; an answer with another
//!   context or projection is a miss and replaces it (a record has one entry: two projections of
//!   the same records shown in turn write them each time).
//!
//! So a hit gives the very bytes writing the record would give. The cache holds at most
//! [`CAPACITY`] records (about 15 MB of bytes for Payt invoices, plus the records it keeps
//! allocated); when full it starts over.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use serde_json::Value;

/// The most records the cache holds.
pub const CAPACITY: usize = 8192;

/// What a record was written with, and the bytes.
struct Entry {
    /// Never read: it keeps the record's allocation from being reused while the entry lives, so
    /// that the address it is found by stays the record's.
    _record: Weak<dyn Any + Send + Sync>,
    writer: usize,
    context: Vec<(&'static str, Value)>,
    projection: Box<str>,
    bytes: Arc<[u8]>,
}

/// Every entry by the address of its record.
static CACHE: LazyLock<Mutex<HashMap<usize, Entry>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The address a record is found by.
fn address<V>(record: &Arc<V>) -> usize {
    Arc::as_ptr(record).cast::<u8>() as usize
}

/// One record to write, with what else its bytes depend on.
#[derive(Debug)]
pub struct Item<'a, V> {
    /// The record as the store shares it.
    pub record: &'a Arc<V>,
    /// Which of the ways of writing this kind of record wrote it, when there are several (Payt:
    /// the address of the resource's opt-in list); part of the context.
    pub writer: usize,
    /// Everything else the bytes depend on, compared whole: the same record with another context
    /// is written again.
    pub context: &'a [(&'static str, Value)],
    /// Which of the record's fields it shows, as a text that is equal for equal projections and
    /// differs for different ones (Payt: its `fields` parsed and written out); empty for the
    /// record's default fields. Part of the context.
    pub projection: &'a str,
}

impl<V> Clone for Item<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Item<'_, V> {}

/// The bytes of each item written before with the same context, `None` for the others.
fn lookup<V: Send + Sync + 'static>(items: &[Item<'_, V>]) -> Vec<Option<Arc<[u8]>>> {
    let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    items
        .iter()
        .map(|item| {
            // An entry under the record's address is the record's: its `Weak` keeps that
            // allocation from being reused.
            let e = cache.get(&address(item.record))?;
            let same =
                e.writer == item.writer && e.context.as_slice() == item.context && &*e.projection == item.projection;
            same.then(|| Arc::clone(&e.bytes))
        })
        .collect()
}

/// Keeps the bytes each item was just written as.
fn keep<V: Send + Sync + 'static>(written: Vec<(Item<'_, V>, Arc<[u8]>)>) {
    if written.is_empty() {
        return;
    }
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() + written.len() > CAPACITY {
        cache.clear();
    }
    for (item, bytes) in written {
        let record: Weak<dyn Any + Send + Sync> = Arc::downgrade(item.record) as Weak<dyn Any + Send + Sync>;
        let entry = Entry {
            _record: record,
            writer: item.writer,
            context: item.context.to_vec(),
            projection: item.projection.into(),
            bytes,
        };
        cache.insert(address(item.record), entry);
    }
}

/// Appends the JSON array of `items` to `out`, as serde writes a sequence (`[a,b]`): each
/// record's bytes from the cache when it was written before with the same context, else written
/// by `write` (which appends the record's JSON) and kept.
pub fn write_seq<V: Send + Sync + 'static>(
    out: &mut Vec<u8>,
    items: &[Item<'_, V>],
    mut write: impl FnMut(&mut Vec<u8>, &Item<'_, V>) -> Result<(), serde_json::Error>,
) -> Result<(), serde_json::Error> {
    let cached = lookup(items);
    let mut written = Vec::new();
    out.push(b'[');
    for (i, (item, hit)) in items.iter().zip(cached).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match hit {
            Some(bytes) => out.extend_from_slice(&bytes),
            None => {
                let start = out.len();
                write(out, item)?;
                written.push((*item, Arc::from(&out[start..])));
            }
        }
    }
    out.push(b']');
    keep(written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record changed through `Arc::make_mut` while the cache points at it is written again;
    /// so is one with another context or another projection; an unchanged one with the same
    /// context and projection is a hit.
    #[test]
    fn a_hit_is_the_same_record_with_the_same_context() {
        let mut calls = 0;
        let mut page = |records: &[Arc<String>], context: &[(&'static str, Value)], projection: &str| {
            let items: Vec<Item<'_, String>> = records
                .iter()
                .map(|record| Item {
                    record,
                    writer: 0,
                    context,
                    projection,
                })
                .collect();
            let mut out = Vec::new();
            write_seq(&mut out, &items, |out, item| {
                calls += 1;
                serde_json::to_writer(
                    out,
                    &format!("{}{}{}", item.record, item.context.len(), item.projection),
                )
            })
            .expect("writes");
            String::from_utf8(out).expect("text")
        };
        let mut records = vec![Arc::new("a".to_string()), Arc::new("b".to_string())];
        let one = [("origin", Value::from("x"))];
        assert_eq!(page(&records, &one, ""), r#"["a1","b1"]"#);
        assert_eq!(page(&records, &one, ""), r#"["a1","b1"]"#);
        Arc::make_mut(&mut records[0]).push('!');
        assert_eq!(page(&records, &one, ""), r#"["a!1","b1"]"#);
        assert_eq!(page(&records, &[], ""), r#"["a!0","b0"]"#);
        assert_eq!(page(&records, &[], "p"), r#"["a!0p","b0p"]"#);
        assert_eq!(page(&records, &[], "p"), r#"["a!0p","b0p"]"#);
        assert_eq!(page(&records, &[], ""), r#"["a!0","b0"]"#);
        assert_eq!(page(&[], &[], ""), "[]");
        assert_eq!(
            calls,
            2 + 1 + 2 + 2 + 2,
            "written: the first page, the changed record, the new context, the projection and back"
        );
    }
}
