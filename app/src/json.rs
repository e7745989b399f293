//! The one way the WASM reads JSON: the text is parsed into a [`serde_json::Value`] by one shared
//! parser, and the typed value is read from that tree ([`from_slice`]). Server functions' replies
//! (`#[server(…, output = crate::json::Reply)]`), their errors, resources (crate::resource) and the
//! live stream all read through it.
//!
//! Why (README, "Bundle size"): `serde_json::from_slice::<T>` compiles its streaming parser
//! (whitespace, escapes, numbers, error positions) into every type's deserializer, once per type
//! the browser reads — about 140 of them, the largest share of the WASM. Read from a tree, each
//! type only matches on nodes.
//!
//! The JSON on the wire is unchanged (`serde_json::to_vec` writes it, `application/json` like
//! Leptos' `Json`), and so is what valid JSON reads as; only error messages for invalid input lack
//! line and column.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Error, Value};

/// Reads `T` from JSON text: first into a [`Value`], then `T` from the tree.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_value(serde_json::from_slice::<Value>(bytes)?)
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

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    enum Kind {
        Unit,
        Tuple(i64, String),
        Struct { x: f64 },
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Sample {
        id: i64,
        big: u64,
        score: f32,
        name: String,
        #[serde(default)]
        missing: Option<String>,
        kinds: Vec<Kind>,
        by_id: std::collections::BTreeMap<i64, Kind>,
        result: Result<(u8, bool), crate::error::AppError>,
    }

    /// Whatever `serde_json` writes, [`from_slice`] reads as `serde_json::from_slice` does.
    #[test]
    fn reads_what_serde_json_writes_as_serde_json_does() {
        let sample = Sample {
            id: -7,
            big: u64::MAX,
            score: 0.1,
            name: "é \"q\" \u{1F600}".into(),
            missing: None,
            kinds: vec![Kind::Struct { x: 1.5e-7 }, Kind::Unit, Kind::Tuple(2, "t".into())],
            by_id: [(3, Kind::Unit), (-1, Kind::Struct { x: 0.0 })].into(),
            result: Err(crate::error::AppError::Invalid { field: "f".into(), message: "m".into() }),
        };
        let text = serde_json::to_vec(&sample).unwrap();
        let direct: Sample = serde_json::from_slice(&text).unwrap();
        let via_tree: Sample = from_slice(&text).unwrap();
        assert_eq!(via_tree, direct);
        assert_eq!(via_tree, sample);
        assert!(from_slice::<Sample>(b"{\"id\": 1").is_err());
        assert!(from_slice::<Sample>(br#"{"id": "1"}"#).is_err());
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
                    for line in text.lines().map(str::trim).filter(|l| l.starts_with("#[server(endpoint")) {
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
}
