//! The stand-in for a model family a build leaves out (a Wasm guest is built for one family).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A model of a family this build does not contain. It cannot be decoded (the module compiler
/// always pairs a model with the guest of its family), so no value of it exists in practice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Absent;

impl Serialize for Absent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Absent {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("this build does not contain the model's family"))
    }
}
