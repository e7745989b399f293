//! Resources whose value travels from the server to the browser the way server functions' replies
//! do. Make every resource with [`resource`] and name its type [`Resource`] from here, never
//! `leptos::prelude::Resource::new` (clippy.toml refuses it).
//!
//! Why: a resource's value is serialized into the page as JSON and parsed back when the browser
//! hydrates. Leptos' default codec parses that text with `serde_json::from_str`, while server
//! functions parse their JSON replies with `serde_json::from_slice`. The two readers are distinct
//! types, so every type that arrives both ways — nearly all of them, since resources call server
//! functions — was compiled into the WASM twice, with all the types it contains. Parsing the
//! resource's text as bytes too (same JSON, same result: a `str` is valid UTF-8) shares one copy:
//! the release WASM lost 0.57 MB before wasm-opt (see README, "Bundle size"). Both now read with
//! [`crate::json::from_slice`], which parses into a tree first (see crate::json).

use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// JSON, written with `serde_json::to_string` like Leptos' default codec and read with
/// [`crate::json::from_slice`] like server functions' replies.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        crate::json::from_slice(val.as_bytes())
    }
}

/// A resource carried as [`Json`].
pub type Resource<T> = leptos::prelude::Resource<T, Json>;

/// `Resource::new` with the [`Json`] codec: `source` is tracked, `fetcher` loads the value for it
/// (on the server while rendering; in the browser when `source` changes).
#[track_caller]
pub fn resource<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_like_the_default_codec() {
        let value: Result<Vec<(String, Option<i64>)>, String> =
            Ok(vec![("é \"q\"".into(), Some(-3)), ("".into(), None)]);
        let text = <Json as Encoder<_>>::encode(&value).unwrap();
        assert_eq!(text, serde_json::to_string(&value).unwrap());
        let back: Result<Vec<(String, Option<i64>)>, String> = <Json as Decoder<_>>::decode(&text).unwrap();
        assert_eq!(back, value);
    }
}
