//! Japanese text from mail bytes, whatever the label says.
//!
//! The order of trust: ISO-2022-JP escape sequences in the bytes; then the declared charset
//! when it is a Japanese or Unicode one and decodes cleanly; then whichever of UTF-8,
//! Shift_JIS (CP932) and EUC-JP decodes cleanly and looks most like Japanese. A declared
//! Western charset (`iso-8859-1`, `us-ascii`) is never believed for 8-bit bytes: Japanese
//! mailers write those labels by mistake far more often than anyone sends Latin-1 here.
//! encoding_rs's `SHIFT_JIS` is CP932 and its ISO-2022-JP decoder knows the NEC and IBM
//! extensions, so ①, ㈱ and 髙 come out right.

use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// Decoded text and, when the declared charset was not used, a note saying what was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub note: Option<String>,
}

/// The encoding a MIME charset label names, with the labels Japanese mailers use that the
/// WHATWG list lacks.
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches('"').to_ascii_lowercase();
    match l.as_str() {
        "cp932" | "ms932" | "windows-31j" | "x-sjis" | "sjis" | "shift-jis" | "x-ms-cp932" => {
            Some(SHIFT_JIS)
        }
        "iso-2022-jp-1" | "iso-2022-jp-2" | "iso-2022-jp-3" | "iso-2022-jp-ms" | "cp50220"
        | "cp50221" | "cp50222" | "csiso2022jp" => Some(ISO_2022_JP),
        "eucjp-ms" | "euc-jp-ms" | "x-euc-jp" | "cp51932" => Some(EUC_JP),
        "utf8" => Some(UTF_8),
        _ => Encoding::for_label(l.as_bytes()),
    }
}

fn has_iso2022_escape(b: &[u8]) -> bool {
    b.windows(3)
        .any(|w| matches!(w, [0x1b, b'$', b'B' | b'@'] | [0x1b, b'(', b'J' | b'I']))
        || b.windows(4).any(|w| w == [0x1b, b'$', b'(', b'D'])
}

fn display_name(enc: &'static Encoding) -> &'static str {
    if enc == SHIFT_JIS {
        "Shift_JIS"
    } else {
        enc.name()
    }
}

fn clean(enc: &'static Encoding, b: &[u8]) -> Option<String> {
    enc.decode_without_bom_handling_and_without_replacement(b)
        .map(|c| c.into_owned())
}

/// How Japanese a text looks: kana and common kanji count, odd symbols and control
/// characters count against.
fn japanese_score(s: &str) -> i64 {
    s.chars()
        .map(|c| match c {
            '\u{3040}'..='\u{30ff}' => 3,
            '\u{4e00}'..='\u{9fff}' | '\u{3000}'..='\u{303f}' | '\u{ff01}'..='\u{ff5e}' => 2,
            '\u{ff61}'..='\u{ff9f}' => 0,
            c if c.is_ascii() && !c.is_ascii_control() => 1,
            '\n' | '\r' | '\t' => 1,
            _ => -3,
        })
        .sum()
}

/// Decodes text bytes with the declared charset if it can be trusted, else detects it.
pub fn decode(bytes: &[u8], declared: Option<&str>) -> Decoded {
    let declared_enc = declared.and_then(encoding_for);
    let label = declared.map(|d| d.trim().trim_matches('"').to_ascii_lowercase());
    let note = |name: &str| {
        Some(match &label {
            Some(l) => format!("文字コードを{name}と判定しました（指定は{l}）"),
            None => format!("文字コードの指定がないため{name}と判定しました"),
        })
    };
    if has_iso2022_escape(bytes) {
        let (text, _, _) = ISO_2022_JP.decode(bytes);
        let n = if declared_enc == Some(ISO_2022_JP) {
            None
        } else {
            note("ISO-2022-JP")
        };
        return Decoded {
            text: text.into_owned(),
            note: n,
        };
    }
    if bytes.is_ascii() {
        return Decoded {
            text: String::from_utf8_lossy(bytes).into_owned(),
            note: None,
        };
    }
    if let Some(enc) = declared_enc
        && enc.name().starts_with("UTF-16")
        && let Some(text) = clean(enc, bytes)
    {
        return Decoded { text, note: None };
    }
    // Every Japanese reading that decodes cleanly competes; the declared one wins ties.
    let trusted = declared_enc.filter(|e| [UTF_8, SHIFT_JIS, EUC_JP].contains(e));
    let mut best: Option<(i64, bool, &'static Encoding, String)> = None;
    for enc in [UTF_8, SHIFT_JIS, EUC_JP] {
        if let Some(text) = clean(enc, bytes) {
            let is_declared = trusted == Some(enc);
            let score = japanese_score(&text);
            if best
                .as_ref()
                .is_none_or(|(s, d, _, _)| (score, is_declared) > (*s, *d))
            {
                best = Some((score, is_declared, enc, text));
            }
        }
    }
    if let Some((_, is_declared, enc, text)) = best {
        let n = if is_declared {
            None
        } else {
            note(display_name(enc))
        };
        return Decoded { text, note: n };
    }
    // Nothing decodes cleanly: the declared Japanese charset, else the one with the fewest
    // replacement characters, lossy. The raw message keeps the original bytes.
    let (enc, name) = match declared_enc {
        Some(e) if [SHIFT_JIS, EUC_JP, UTF_8].contains(&e) => (e, e.name()),
        _ => {
            let count = |e: &'static Encoding| e.decode(bytes).0.matches('\u{fffd}').count();
            [
                (SHIFT_JIS, "Shift_JIS"),
                (EUC_JP, "EUC-JP"),
                (UTF_8, "UTF-8"),
            ]
            .into_iter()
            .min_by_key(|(e, _)| count(e))
            .unwrap_or((SHIFT_JIS, "Shift_JIS"))
        }
    };
    let (text, _, _) = enc.decode(bytes);
    Decoded {
        text: text.into_owned(),
        note: Some(format!(
            "文字化けを含むため{name}として読める部分だけ読み取りました"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sjis(s: &str) -> Vec<u8> {
        SHIFT_JIS.encode(s).0.into_owned()
    }

    #[test]
    fn declared_cp932_labels_decode_vendor_characters() {
        let b = sjis("①㈱髙橋 \\\\fs01\\share\\new");
        for label in ["Windows-31J", "Shift_JIS", "CP932", "x-sjis"] {
            let d = decode(&b, Some(label));
            assert_eq!(d.text, "①㈱髙橋 \\\\fs01\\share\\new", "{label}");
            assert_eq!(d.note, None);
        }
    }

    #[test]
    fn iso_2022_jp_is_recognised_by_its_escapes_even_without_a_label() {
        let b = ISO_2022_JP.encode("プリンタが動きません①").0.into_owned();
        let d = decode(&b, None);
        assert_eq!(d.text, "プリンタが動きません①");
        assert!(d.note.is_some());
        assert_eq!(decode(&b, Some("iso-2022-jp")).note, None);
    }

    #[test]
    fn wrong_or_missing_labels_are_detected_from_the_bytes() {
        let text = "パスワードを忘れました。至急お願いします。";
        let s = sjis(text);
        let e = EUC_JP.encode(text).0.into_owned();
        assert_eq!(decode(&s, None).text, text);
        assert_eq!(decode(&s, Some("iso-8859-1")).text, text);
        assert_eq!(decode(&e, None).text, text);
        assert_eq!(
            decode(&e, Some("shift_jis")).text,
            text,
            "a wrong Japanese label"
        );
        assert_eq!(
            decode(text.as_bytes(), Some("shift_jis")).text,
            text,
            "UTF-8 labelled Shift_JIS"
        );
        assert_eq!(decode(text.as_bytes(), Some("us-ascii")).text, text);
    }

    #[test]
    fn undecodable_bytes_are_read_as_far_as_possible_and_noted() {
        let mut b = sjis("前半は読める");
        b.extend_from_slice(&[0x81, 0xff, 0xfe]);
        let d = decode(&b, Some("shift_jis"));
        assert!(d.text.starts_with("前半は読める"));
        assert!(d.note.is_some());
    }
}
