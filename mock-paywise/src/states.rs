//! The shape every lifecycle state of the mock shares: an enum whose names are the vendor's
//! spelling, used only at the edges (JSON answers, the stored form, query filters).
//!
//! `state_enum!` declares one: each variant names its wire spelling, and the enum gets
//! `ALL`, `NAMES`, `as_str`, `parse`, `Display`, `FromStr`, serde (as that string) and
//! (in tests only) comparison with a `&str` (so a test can still ask `state == "created"`; the
//! code compares variants), and with
//! `enum Name moved by Event { ... }` the [`Machine`] impl that calls its inherent `next`. The
//! allowed transitions are not here: each resource keeps its own `next` beside its record (for
//! example [`crate::resources::claims::SubmissionState::next`]).

/// Declares a state enum (see the module doc).
macro_rules! state_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident $(moved by $event:ty)? {
            $($(#[$vmeta:meta])* $var:ident = $wire:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $var),+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// Every state's wire name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $wire),+
                }
            }

            /// The state named `s` (exact spelling), if there is one.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$var),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| format!("unknown {}: {s:?}", stringify!($name)))
            }
        }

        impl crate::format::ToJson for $name {
            fn to_json(&self) -> serde_json::Value {
                serde_json::Value::String(self.as_str().to_string())
            }
        }

        #[cfg(test)]
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        $(impl crate::states::Machine for $name {
            type Event = $event;

            fn next(self, event: $event) -> Option<Self> {
                $name::next(self, event)
            }
        })?

        #[cfg(test)]
        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other
            }
        }

        #[cfg(test)]
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}

/// A state machine: a state, the events that move it, and where each event leads.
pub trait Machine: Copy + PartialEq + std::fmt::Debug {
    /// What moves the state.
    type Event: Copy + std::fmt::Debug;

    /// Where `event` leads from `self`, or `None` if it is refused there.
    fn next(self, event: Self::Event) -> Option<Self>;

    /// Moves `self` by `event`; a refused event leaves it unchanged and returns `false`.
    fn apply(&mut self, event: Self::Event) -> bool {
        match self.next(event) {
            Some(to) => {
                *self = to;
                true
            }
            None => false,
        }
    }
}

/// What the state machines' property tests share.
#[cfg(test)]
pub(crate) mod testing {
    use std::fmt::Debug;

    use super::Machine;

    /// Applies `events` from `start` with [`Machine::apply`]: every state reached is in `all`,
    /// a refused event leaves the state as it was, an accepted one leads where `next` said.
    /// Returns the states visited.
    pub fn walk<S: Machine>(all: &[S], start: S, events: &[S::Event]) -> Vec<S> {
        assert!(all.contains(&start), "{start:?} is not an allowed state");
        let mut state = start;
        let mut seen = vec![state];
        for e in events {
            let before = state;
            let expected = before.next(*e);
            let moved = state.apply(*e);
            match expected {
                Some(to) => assert!(moved && state == to, "{e:?} from {before:?} did not lead to {to:?}"),
                None => assert!(
                    !moved && state == before,
                    "a refused {e:?} changed {before:?} to {state:?}"
                ),
            }
            assert!(all.contains(&state), "{state:?} is not an allowed state");
            seen.push(state);
        }
        seen
    }

    /// Each state serializes as its name and reads back from it.
    pub fn round_trips<S>(all: &[S], name: impl Fn(S) -> &'static str)
    where
        S: Copy + PartialEq + Debug + serde::Serialize + serde::de::DeserializeOwned,
    {
        for s in all {
            let v = serde_json::to_value(s).expect("serializes");
            assert_eq!(v, serde_json::Value::String(name(*s).to_string()));
            let back: S = serde_json::from_value(v).expect("reads back");
            assert_eq!(back, *s);
        }
    }
}
