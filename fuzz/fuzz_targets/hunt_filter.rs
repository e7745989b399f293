//! The hunt filter syntax (`src/hunt/filter.rs`): filter text, its canonical form and its form
//! fields carry the same query.
//!
//! Asserts: no panic; a query that parses shows as text that parses back to it, and as pairs that
//! read back to it; an error points at a character of the input; the partial parse keeps a query
//! that round-trips and names its errors in input order.
#![no_main]

use anomalyforge::hunt::HuntQuery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match HuntQuery::parse(text) {
        Ok(q) => {
            let shown = q.to_string();
            assert_eq!(HuntQuery::parse(&shown).as_ref(), Ok(&q), "{text:?} shows as {shown:?}");
            let pairs = q.to_pairs();
            assert_eq!(HuntQuery::from_pairs(&pairs).as_ref(), Ok(&q), "pairs {pairs:?}");
        }
        Err(e) => {
            assert!(e.at < text.len() && text.is_char_boundary(e.at), "{e:?} outside {text:?}");
            assert!(!e.message.is_empty());
        }
    }
    let (q, errors) = HuntQuery::parse_partial(text);
    assert_eq!(HuntQuery::parse(&q.to_string()).as_ref(), Ok(&q));
    assert!(errors.windows(2).all(|w| w[0].at < w[1].at), "errors out of order: {errors:?}");
    // Pairs written by hand: every field of the canonical form, read alone.
    for (k, v) in q.to_pairs() {
        assert!(HuntQuery::from_pairs(&[(k.as_str(), v.as_str())]).is_ok(), "{k}={v}");
    }
});
