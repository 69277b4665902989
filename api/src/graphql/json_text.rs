//! JSON text written directly, for the parts of a response built without a value tree (the
//! plain ticket lists, see [`super::plain`]), and handed to async-graphql as a raw value.
//!
//! The text is byte for byte what `serde_json` writes for the same values (its escapes, its
//! lowercase `\u00xx`), so a response reads the same whichever way a list was made;
//! `tests/tests/suite/plain_lists.rs` compares whole responses, the tests below strings.

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;

/// A value async-graphql serializes as the JSON text `json` itself (its `raw_value`
/// feature: serde_json's raw-value token, checked to be JSON when serialized).
pub fn raw(json: String) -> Value {
    let mut object = IndexMap::with_capacity(1);
    object.insert(
        async_graphql::Name::new(async_graphql_value::RAW_VALUE_TOKEN),
        Value::String(json),
    );
    Value::Object(object)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes of `w` is a quote, a backslash or a control character (below
/// 0x20): exact as a yes or no (the classic "has a zero byte" test, borrows and all).
#[inline]
fn needs_escape(w: u64) -> bool {
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    (below_space | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) != 0
}

/// Appends `s` as a JSON string, quotes included. Runs of 8 bytes with nothing to escape
/// (Japanese text is all such bytes) are checked a word at a time.
pub fn push_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let (mut run, mut i) = (0, 0);
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        // Byte by byte up to the next word boundary (or to the end).
        let end = (i + 8).min(bytes.len());
        while i < end {
            let b = bytes[i];
            if b < 0x20 || b == b'"' || b == b'\\' {
                // An ASCII byte: `run..i` ends on a character boundary.
                out.push_str(&s[run..i]);
                push_escape(out, b);
                run = i + 1;
            }
            i += 1;
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn push_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        0x08 => out.push_str("\\b"),
        0x0C => out.push_str("\\f"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        _ => {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

/// Appends an optional string, `null` for none.
pub fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends an integer.
pub fn push_int(out: &mut String, v: i64) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn strings_read_as_serde_json_writes_them() {
        let mut cases: Vec<String> = [
            "",
            "a",
            "\"",
            "\\",
            "プリンタが印刷できない",
            "本庁舎3階\t有線LAN\n不通\r\"引用\"\\パス\\",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f} \u{80}\u{ff}",
            "exactly8",
            "exactly8\"",
            "1234567\u{1f}89abcdef",
            "😀 絵文字 и кириллица",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let alphabet: Vec<char> = "ab \"\\\n\t\r\u{0}\u{1}\u{1f}\u{7f}\u{80}あ窓口😀/<>&'"
            .chars()
            .collect();
        let mut rng = rand::rng();
        for _ in 0..20_000 {
            let len = rng.random_range(0..40);
            cases.push(
                (0..len)
                    .map(|_| {
                        // Mostly text with nothing to escape, as titles are.
                        if rng.random_range(0..4) == 0 {
                            alphabet[rng.random_range(0..alphabet.len())]
                        } else {
                            ['x', '複', 'é', '1'][rng.random_range(0..4)]
                        }
                    })
                    .collect(),
            );
        }
        for s in cases {
            let mut out = String::from("prefix");
            push_str(&mut out, &s);
            assert_eq!(
                &out["prefix".len()..],
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_word_needs_escaping_exactly_when_a_byte_does() {
        let mut rng = rand::rng();
        for _ in 0..200_000 {
            let mut bytes: [u8; 8] = rng.random();
            // Bytes near the boundaries the test looks for.
            for b in &mut bytes {
                if rng.random_range(0..3) == 0 {
                    *b = [
                        0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xA2,
                    ][rng.random_range(0..11)];
                }
            }
            let want = bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            assert_eq!(needs_escape(u64::from_le_bytes(bytes)), want, "{bytes:x?}");
        }
    }

    #[test]
    fn a_raw_value_serializes_as_its_text() {
        let value = async_graphql::Value::List(vec![raw(r#"[{"a":"窓口"},null]"#.into())]);
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"[[{"a":"窓口"},null]]"#
        );
    }
}
