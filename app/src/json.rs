//! The one way the WASM reads JSON: the text is parsed into a [`serde_json::Value`] by one shared
//! parser, and the typed value is read from that tree ([`from_slice`]). Server functions' replies
//! (`#[server(…, output = crate::json::Reply)]`), their errors, resources (crate::resource) and the
//! live stream all read through it.
//!
//! Why (README, "Bundle size"): `serde_json::from_slice::<T>` compiles its streaming parser
//! (whitespace, escapes, numbers, error positions) into every type's deserializer, once per type
//! the browser reads — about 140 of them, the largest share of the WASM. Read from a tree, each
//! type only matches on nodes. And [`Tree`], not `Value`'s own `Deserializer`, reads the tree:
//! `Value` also accepts a struct written as an array of its fields, a second copy of every
//! struct's reader that `serde_json` never writes; [`Tree`] reads structs from objects only.
//!
//! The JSON on the wire is unchanged (`serde_json::to_vec` writes it, `application/json` like
//! Leptos' `Json`), and whatever `serde_json` writes reads back as with `serde_json::from_slice`
//! (see the tests). What differs is only for JSON no server of ours writes: a struct as an array
//! is refused, a repeated key keeps its last value instead of failing, and error messages for
//! invalid input lack line and column. An object's entries are read in key order, not the text's
//! (`Value` sorts them): no type the browser reads keeps the order of an object's keys.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::{Error, Map, Value};

/// Reads `T` from JSON text: first into a [`Value`], then `T` from the tree with [`Tree`].
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    T::deserialize(Tree(serde_json::from_slice::<Value>(bytes)?))
}

/// A parsed JSON tree as a `Deserializer`: `serde_json::Value`'s own, except that a struct is read
/// from an object only (see the module's documentation). Leaves are read by `Value` itself.
pub struct Tree(pub Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn visit_array<'de, V: Visitor<'de>>(array: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = array.len();
    let mut seq = Seq(array.into_iter());
    let value = visitor.visit_seq(&mut seq)?;
    if seq.0.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

fn visit_object<'de, V: Visitor<'de>>(object: Map<String, Value>, visitor: V) -> Result<V::Value, Error> {
    let len = object.len();
    let mut map = Entries { iter: object.into_iter(), value: None };
    let value = visitor.visit_map(&mut map)?;
    if map.iter.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in map"))
    }
}

/// Leaves: what `Value` does.
macro_rules! leaf {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Tree {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(v) => visit_array(v, visitor),
            Value::Object(v) => visit_object(v, visitor),
            leaf => leaf.deserialize_any(visitor),
        }
    }

    leaf! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.0.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(v) => visit_array(v, visitor),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(v) => visit_object(v, visitor),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    /// From an object only: `Value` would also read an array of the fields.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (variant, value) = match self.0 {
            Value::Object(object) => {
                let mut iter = object.into_iter();
                let Some((variant, value)) = iter.next() else {
                    return Err(de::Error::invalid_value(Unexpected::Map, &"map with a single key"));
                };
                if iter.next().is_some() {
                    return Err(de::Error::invalid_value(Unexpected::Map, &"map with a single key"));
                }
                (variant, Some(value))
            }
            Value::String(variant) => (variant, None),
            other => return Err(de::Error::invalid_type(unexpected(&other), &"string or map")),
        };
        visitor.visit_enum(Variant { variant, value })
    }
}

struct Seq(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            Some(value) => seed.deserialize(Tree(value)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    iter: <Map<String, Value> as IntoIterator>::IntoIter,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Key(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        match self.iter.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(upper),
            _ => None,
        }
    }
}

struct Variant {
    variant: String,
    value: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = VariantValue;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, VariantValue), Error> {
        let variant = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(self.variant))?;
        Ok((variant, VariantValue(self.value)))
    }
}

struct VariantValue(Option<Value>);

impl<'de> de::VariantAccess<'de> for VariantValue {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Some(value) => de::Deserialize::deserialize(value),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.0 {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(de::Error::invalid_type(Unexpected::UnitVariant, &"newtype variant")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Array(v)) if v.is_empty() => visitor.visit_unit(),
            Some(Value::Array(v)) => visit_array(v, visitor),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"tuple variant")),
            None => Err(de::Error::invalid_type(Unexpected::UnitVariant, &"tuple variant")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Object(v)) => visit_object(v, visitor),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"struct variant")),
            None => Err(de::Error::invalid_type(Unexpected::UnitVariant, &"struct variant")),
        }
    }
}

/// An object's key, read like `serde_json` reads keys: as the string, or as the number or `bool`
/// it spells when the key type is one (`BTreeMap<i64, _>`).
struct Key(String);

macro_rules! numeric_key {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            // As serde_json: a number that starts the key and fills it, without whitespace around,
            // visited as what it is (u64, i64 or f64; serde_json also reads i128 keys past i64).
            let spelled = matches!(self.0.as_bytes().first(), Some(b'0'..=b'9' | b'-'))
                && !self.0.ends_with([' ', '\n', '\t', '\r']);
            match serde_json::from_str::<serde_json::Number>(&self.0) {
                Ok(number) if spelled => number.deserialize_any(visitor),
                _ => Err(de::Error::custom("expected numeric key")),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Key {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    numeric_key! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_str() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(de::Error::invalid_type(Unexpected::Str(other), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        IntoDeserializer::<Error>::into_deserializer(self.0).deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

/// JSON like Leptos' `JsonEncoding` (same content type, same bytes written), read with
/// [`from_slice`]. Server functions' errors ([`crate::error::AppError`]) travel in it.
pub struct JsonEncoding;

impl ContentType for JsonEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonEncoding {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, serde_json::Error> {
        from_slice(&bytes)
    }
}

/// A server function's reply: a JSON body in answer to a `POST`, like Leptos' default `Json`
/// output, read with [`from_slice`]. Every `#[server]` names it: `output = crate::json::Reply`.
pub type Reply = Post<JsonEncoding>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    enum Kind {
        Unit,
        Newtype(String),
        Tuple(i64, String),
        Struct { x: f64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        One { a: u8 },
        Two,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
        Pair(Vec<bool>),
    }

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Inner {
        label: String,
        #[serde(default)]
        weight: Option<f32>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Id(i64);

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Unit;

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        id: Id,
        big: u64,
        small: i8,
        score: f32,
        name: String,
        letter: char,
        #[serde(default)]
        missing: Option<String>,
        present: Option<Inner>,
        tags: Vec<String>,
        by_id: BTreeMap<i64, Kind>,
        by_flag: BTreeMap<bool, u8>,
        by_kind: BTreeMap<Tagged2, f64>,
        kinds: Vec<Kind>,
        tagged: Vec<Tagged>,
        either: Vec<Either>,
        pair: (u8, bool),
        nothing: (),
        unit: Unit,
        #[serde(flatten)]
        rest: BTreeMap<String, serde_json::Value>,
        result: Result<(u8, bool), String>,
        failed: Result<Inner, crate::error::AppError>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
    enum Tagged2 {
        A,
        B,
    }

    fn sample() -> Sample {
        Sample {
            id: Id(-7),
            big: u64::MAX,
            small: -128,
            score: 0.1,
            name: "é \"q\" \u{1F600}\n".into(),
            letter: 'ß',
            missing: None,
            present: Some(Inner { label: "in".into(), weight: Some(2.5) }),
            tags: vec!["a".into(), String::new()],
            by_id: BTreeMap::from([(3, Kind::Unit), (-1, Kind::Tuple(2, "t".into())), (0, Kind::Newtype("n".into()))]),
            by_flag: BTreeMap::from([(true, 1), (false, 0)]),
            by_kind: BTreeMap::from([(Tagged2::A, 1.0), (Tagged2::B, -0.5)]),
            kinds: vec![Kind::Struct { x: 1.5e-7 }, Kind::Unit],
            tagged: vec![Tagged::One { a: 9 }, Tagged::Two],
            either: vec![Either::Number(-3), Either::Text("x".into()), Either::Pair(vec![true])],
            pair: (255, true),
            nothing: (),
            unit: Unit,
            rest: BTreeMap::from([("extra".into(), serde_json::json!({"k": [1, 2.5, null]}))]),
            result: Ok((255, true)),
            failed: Err(crate::error::AppError::Invalid { field: "f".into(), message: "m".into() }),
        }
    }

    /// Whatever `serde_json` writes, [`from_slice`] reads as `serde_json::from_slice` does.
    #[test]
    fn reads_what_serde_json_writes_as_serde_json_does() {
        let sample = sample();
        for text in [serde_json::to_vec(&sample).unwrap(), serde_json::to_vec_pretty(&sample).unwrap()] {
            let direct: Sample = serde_json::from_slice(&text).unwrap();
            let via_tree: Sample = from_slice(&text).unwrap();
            assert_eq!(via_tree, direct);
            assert_eq!(via_tree, sample);
        }
        let list = vec![Some(sample.clone()), None];
        let text = serde_json::to_vec(&list).unwrap();
        assert_eq!(from_slice::<Vec<Option<Sample>>>(&text).unwrap(), list);
        let err: Result<Vec<i32>, String> = from_slice(br#"{"Err":"no"}"#).unwrap();
        assert_eq!(err, Err("no".to_string()));
        assert_eq!(from_slice::<Kind>(br#""Unit""#).unwrap(), Kind::Unit);
        assert_eq!(from_slice::<Kind>(br#"{"Unit":null}"#).unwrap(), Kind::Unit);
        assert_eq!(from_slice::<serde_json::Value>(br#"[1,{"a":"b"}]"#).unwrap(), serde_json::json!([1, {"a": "b"}]));
    }

    /// What is not valid for the type is refused, as `serde_json::from_slice` refuses it.
    #[test]
    fn refuses_what_serde_json_refuses() {
        let cases: &[&[u8]] = &[
            b"{\"label\": \"x\"",
            br#"{"label": 1}"#,
            br#"{"weight": 1.0}"#,
            br#"{"label": "x", "weight": "heavy"}"#,
            br#"["x", 1.0, 3]"#,
            br#"null"#,
            br#""label""#,
        ];
        for text in cases {
            assert!(serde_json::from_slice::<Inner>(text).is_err());
            assert!(from_slice::<Inner>(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
        for text in [&br#"[256]"#[..], br#"[-1]"#, br#"[1.5]"#, br#"{"0": 1}"#] {
            assert!(from_slice::<Vec<u8>>(text).is_err());
        }
        for text in
            [&br#"{"x": 1}"#[..], br#"{" 1": 1}"#, br#"{"1 ": 1}"#, br#"{"01": 1}"#, br#"{"1x": 1}"#, br#"{"": 1}"#]
        {
            assert!(serde_json::from_slice::<BTreeMap<i64, u8>>(text).is_err());
            assert!(from_slice::<BTreeMap<i64, u8>>(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
        for text in [
            &br#""Nope""#[..],
            br#"{"Unit": 1}"#,
            br#"{"Tuple": [1]}"#,
            br#"{"Struct": 1}"#,
            br#"{}"#,
            br#"{"Unit":null,"Newtype":"x"}"#,
        ] {
            assert!(serde_json::from_slice::<Kind>(text).is_err());
            assert!(from_slice::<Kind>(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
    }

    /// The one difference: a struct written as an array of its fields, which `serde_json` never
    /// writes, is refused.
    #[test]
    fn refuses_a_struct_written_as_an_array() {
        assert_eq!(
            serde_json::from_slice::<Inner>(br#"["x", 1.0]"#).unwrap(),
            Inner { label: "x".into(), weight: Some(1.0) }
        );
        assert!(from_slice::<Inner>(br#"["x", 1.0]"#).is_err());
    }

    #[test]
    fn writes_what_leptos_json_writes() {
        let value: Result<Vec<(String, Option<i64>)>, String> = Ok(vec![("x".into(), Some(1)), ("".into(), None)]);
        let ours = <JsonEncoding as Encodes<_>>::encode(&value).unwrap();
        let leptos = <leptos::server_fn::codec::JsonEncoding as Encodes<_>>::encode(&value).unwrap();
        assert_eq!(ours, leptos);
        let back: Result<Vec<(String, Option<i64>)>, String> = <JsonEncoding as Decodes<_>>::decode(ours).unwrap();
        assert_eq!(back, value);
    }

    /// Every server function replies through [`Reply`]: one that used Leptos' default `Json`
    /// would compile the streaming reader back into the WASM for its type.
    #[test]
    fn every_server_function_names_reply() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![dir];
        let mut checked = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for line in text.lines().map(str::trim).filter(|l| is_server_fn_attribute(l)) {
                        checked += 1;
                        assert!(
                            line.contains("output = crate::json::Reply"),
                            "{}: `{line}` lacks `output = crate::json::Reply`",
                            path.display()
                        );
                    }
                }
            }
        }
        assert!(checked > 50, "found only {checked} server functions");
    }

    /// `#[server]` or `#[server(…)]` on a function, not `#[server(default)]` on an argument (nor
    /// this test's own text).
    fn is_server_fn_attribute(line: &str) -> bool {
        (line == "#[server]" || line.starts_with("#[server(")) && !line.starts_with("#[server(default)]")
    }
}
