//! An item that is a mapping of exactly one key naming its kind (`- status: 200`): the key is
//! read as the enum's variant and its value as the variant's, straight from the YAML mapping
//! (so every location inside stays right) — and a bare word (`- status`), an empty item or a
//! second key is an error at that item, never a value taken from the next one.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// An externally tagged enum read as a one-key item.
pub trait OneKeyEnum: Sized {
    /// What an item is, for messages: "an assertion".
    const WHAT: &'static str;

    /// The enum's derived deserializer (`#[serde(remote = "Self")]`).
    fn derived<'de, D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Deserializes a one-key item of `T`.
pub fn item<'de, D: de::Deserializer<'de>, T: OneKeyEnum>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(ItemVisitor(PhantomData))
}

struct ItemVisitor<T>(PhantomData<T>);

impl<'de, T: OneKeyEnum> Visitor<'de> for ItemVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: one `key: value`", T::WHAT)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::derived(OneKey(map))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Err(E::custom(format!(
            "`{v}` alone is not {}: give it a value, like `- {v}: …`",
            T::WHAT
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Err(E::custom(format!(
            "an empty `-` item: write {} here, or remove the `-`",
            T::WHAT
        )))
    }
}

/// A deserializer over one item's mapping: an enum whose variant is the mapping's only key.
struct OneKey<A>(A);

impl<'de, A: MapAccess<'de>> de::Deserializer<'de> for OneKey<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> de::EnumAccess<'de> for OneKey<A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        mut self,
        seed: V,
    ) -> Result<(V::Value, Self), A::Error> {
        match self.0.next_key_seed(seed)? {
            Some(v) => Ok((v, self)),
            None => Err(de::Error::custom(
                "an empty mapping: write one `key: value` here",
            )),
        }
    }
}

impl<'de, A: MapAccess<'de>> de::VariantAccess<'de> for OneKey<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        Err(de::Error::custom("this key needs a value"))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        mut self,
        seed: T,
    ) -> Result<T::Value, A::Error> {
        let value = self.0.next_value_seed(seed)?;
        if let Some(second) = self.0.next_key::<String>()? {
            let _ = self.0.next_value::<IgnoredAny>();
            return Err(de::Error::custom(format!(
                "one key per item here: `{second}` is a second key in this `- ` item (each \
                 goes on its own `- ` item)"
            )));
        }
        Ok(value)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("unexpected list"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("unexpected mapping"))
    }
}
