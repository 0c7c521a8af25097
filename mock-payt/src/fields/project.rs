//! The projection applied while serializing: a [`serde::Serializer`] adapter that leaves out the
//! fields a [`Fields`](super::Fields) value hides, so a page is written straight from the records
//! into the answer's bytes, with no `serde_json::Value` built in between.
//!
//! It gives the same bytes as serializing to a `Value`, projecting that with
//! [`Fields::apply`](super::Fields::apply) and writing it out (a test below and the spec and
//! snapshot suites hold it to that): fields keep the record's own order, a nested selector applies
//! to the object under its name or to each object of an array there, and the default set and
//! `except` drop names at the top level only.

use serde::ser::{
    self, Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use super::Selector;

/// What a projection keeps of one value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Keep<'a> {
    /// Everything.
    All,
    /// Everything but these names at this level (the default set and `except`); below it, all.
    Drop {
        opt_in: &'a [&'a str],
        except: &'a [String],
        /// [`bloom`] of every name in both lists: most fields are kept without a comparison.
        bloom: u128,
    },
    /// Only the selected names, recursively, with the [`bloom`] of their names: most fields are
    /// left out without a comparison.
    Only(&'a [Selector], u128),
}

impl<'a> Keep<'a> {
    /// What to keep of the field `name`, or `None` to leave it out.
    fn field(self, name: &str) -> Option<Keep<'a>> {
        match self {
            Keep::All => Some(Keep::All),
            Keep::Drop { opt_in, except, bloom } => {
                let maybe = bloom & self::bloom(name) != 0;
                (!maybe || (!opt_in.contains(&name) && !except.iter().any(|n| n == name))).then_some(Keep::All)
            }
            Keep::Only(sel, bloom) => {
                if bloom & self::bloom(name) == 0 {
                    return None;
                }
                sel.iter()
                    .find(|s| s.name == name)
                    .map(|s| s.nested.as_deref().map_or(Keep::All, Keep::only))
            }
        }
    }

    /// Only the names `sel` selects.
    pub(super) fn only(sel: &'a [Selector]) -> Keep<'a> {
        Keep::Only(sel, sel.iter().fold(0, |b, s| b | bloom(&s.name)))
    }

    /// What to keep of each element of an array at this level.
    fn element(self) -> Keep<'a> {
        match self {
            Keep::Only(sel, bloom) => Keep::Only(sel, bloom),
            _ => Keep::All,
        }
    }
}

/// One bit of 128 for a field name, from its length and first byte.
pub(super) fn bloom(name: &str) -> u128 {
    let first = name.as_bytes().first().copied().unwrap_or(0);
    1u128 << ((name.len() * 7 + usize::from(first)) % 128)
}

/// Values shown instead of a record's own under these top-level names (fields an answer
/// derives from other records, such as an invoice's `debtor_number`).
pub type Overrides<'a> = &'a [(&'static str, serde_json::Value)];

/// `value` serialized through a projection.
#[derive(Debug)]
pub struct Projected<'a, T: ?Sized> {
    value: &'a T,
    keep: Keep<'a>,
    overrides: Overrides<'a>,
}

impl<'a, T: ?Sized> Projected<'a, T> {
    pub(super) fn new(value: &'a T, keep: Keep<'a>) -> Self {
        Self {
            value,
            keep,
            overrides: &[],
        }
    }

    pub(super) fn with_overrides(mut self, overrides: Overrides<'a>) -> Self {
        self.overrides = overrides;
        self
    }
}

impl<T: Serialize + ?Sized> Serialize for Projected<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.keep, self.overrides) {
            (Keep::All, []) => self.value.serialize(s),
            (keep, overrides) => self.value.serialize(Filter {
                inner: s,
                keep,
                overrides,
            }),
        }
    }
}

/// The serializer adapter: forwards everything to `inner`, leaving out what `keep` hides and
/// writing `overrides` in place of the top-level fields they name.
struct Filter<'a, S> {
    inner: S,
    keep: Keep<'a>,
    overrides: Overrides<'a>,
}

/// The name of a map key, as the `Value` route would make it (`to_value` of the key).
fn key_name<K: Serialize + ?Sized>(key: &K) -> Option<String> {
    match serde_json::to_value(key).ok()? {
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.inner.$name($($arg),*)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Filter<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Elements<'a, S::SerializeSeq>;
    type SerializeTuple = Elements<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Elements<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Elements<'a, S::SerializeTupleVariant>;
    type SerializeMap = Entries<'a, S::SerializeMap>;
    type SerializeStruct = Fields<'a, S::SerializeStruct>;
    type SerializeStructVariant = Fields<'a, S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(&Projected::new(value, self.keep))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<S::Ok, S::Error> {
        self.inner
            .serialize_newtype_struct(name, &Projected::new(value, self.keep))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // As a `Value` it is `{variant: value}`, an object the projection filters like any other.
        let mut map = self.inner.serialize_map(None)?;
        if let Some(keep) = self.keep.field(variant) {
            map.serialize_entry(variant, &Projected::new(value, keep))?;
        }
        map.end()
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(Elements {
            inner: self.inner.serialize_seq(len)?,
            keep: self.keep.element(),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Ok(Elements {
            inner: self.inner.serialize_tuple(len)?,
            keep: self.keep.element(),
        })
    }

    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeTupleStruct, S::Error> {
        Ok(Elements {
            inner: self.inner.serialize_tuple_struct(name, len)?,
            keep: self.keep.element(),
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        // No Payt model has tuple variants; their elements are projected as an array's would be.
        Ok(Elements {
            inner: self.inner.serialize_tuple_variant(name, index, variant, len)?,
            keep: self.keep.element(),
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(Entries {
            inner: self.inner.serialize_map(len)?,
            keep: self.keep,
            value: None,
        })
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        Ok(Fields {
            inner: self.inner.serialize_struct(name, len)?,
            keep: self.keep,
            overrides: self.overrides,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        // No Payt model has struct variants; their fields are projected as a struct's would be.
        Ok(Fields {
            inner: self.inner.serialize_struct_variant(name, index, variant, len)?,
            keep: self.keep,
            overrides: &[],
        })
    }
}

/// The elements of an array, each projected.
struct Elements<'a, I> {
    inner: I,
    keep: Keep<'a>,
}

macro_rules! elements {
    ($trait:ident, $method:ident) => {
        impl<I: $trait> $trait for Elements<'_, I> {
            type Ok = I::Ok;
            type Error = I::Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
                self.inner.$method(&Projected::new(value, self.keep))
            }
            fn end(self) -> Result<I::Ok, I::Error> {
                self.inner.end()
            }
        }
    };
}

elements!(SerializeSeq, serialize_element);
elements!(SerializeTuple, serialize_element);
elements!(SerializeTupleStruct, serialize_field);
elements!(SerializeTupleVariant, serialize_field);

/// The fields of a struct, the hidden ones left out, the overridden ones replaced.
struct Fields<'a, I> {
    inner: I,
    keep: Keep<'a>,
    overrides: Overrides<'a>,
}

macro_rules! fields {
    ($trait:ident) => {
        impl<I: $trait> $trait for Fields<'_, I> {
            type Ok = I::Ok;
            type Error = I::Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                value: &T,
            ) -> Result<(), I::Error> {
                match self.keep.field(name) {
                    Some(keep) => match self.overrides.iter().find(|(n, _)| *n == name) {
                        Some((_, instead)) => self.inner.serialize_field(name, &Projected::new(instead, keep)),
                        None => self.inner.serialize_field(name, &Projected::new(value, keep)),
                    },
                    None => Ok(()),
                }
            }
            fn end(self) -> Result<I::Ok, I::Error> {
                self.inner.end()
            }
        }
    };
}

fields!(SerializeStruct);
fields!(SerializeStructVariant);

/// The entries of a map, filtered by key as a struct's fields are by name.
struct Entries<'a, I> {
    inner: I,
    keep: Keep<'a>,
    /// What to keep of the value of the key just written (`None`: the key was left out).
    value: Option<Keep<'a>>,
}

impl<I: SerializeMap> SerializeMap for Entries<'_, I> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), I::Error> {
        let name = key_name(key).ok_or_else(|| ser::Error::custom("a map key that is not text"))?;
        self.value = self.keep.field(&name);
        match self.value {
            Some(_) => self.inner.serialize_key(key),
            None => Ok(()),
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
        match self.value.take() {
            Some(keep) => self.inner.serialize_value(&Projected::new(value, keep)),
            None => Ok(()),
        }
    }

    fn end(self) -> Result<I::Ok, I::Error> {
        self.inner.end()
    }
}
