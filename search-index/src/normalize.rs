//! Character-level normalisation, keeping a map back to the original text.
//!
//! Everything that is indexed or queried goes through [`normalize`] first:
//! NFKC (half-width kana become full-width, full-width letters and digits
//! become ASCII, ㈱ becomes (株)) and lower case. Folding that would confuse the
//! morphological analyser (hiragana to katakana, long vowels) is applied later,
//! to the terms it produces: see [`fold_term`].
//!
//! Highlighting needs byte offsets into the text as stored, so every byte of the
//! normalised text remembers the span of original text it came from.

use unicode_normalization::{UnicodeNormalization, char::canonical_combining_class};

/// Normalised text plus, for each of its bytes, the original span it came from.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub text: String,
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl Normalized {
    /// The original byte range of the normalised byte range `from..to`.
    pub fn original_range(&self, from: usize, to: usize) -> (usize, usize) {
        if from >= to || to > self.text.len() {
            return (0, 0);
        }
        (self.starts[from] as usize, self.ends[to - 1] as usize)
    }

    fn push(&mut self, piece: &str, start: usize, end: usize) {
        self.text.push_str(piece);
        let (start, end) = (start as u32, end as u32);
        for _ in 0..piece.len() {
            self.starts.push(start);
            self.ends.push(end);
        }
    }
}

/// NFKC + lower case, chunk by chunk (a base character and the combining or
/// half-width voicing marks after it), so that `ｶﾞ` becomes `ガ` and the map
/// stays exact.
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(text.len()),
        starts: Vec::with_capacity(text.len()),
        ends: Vec::with_capacity(text.len()),
    };
    let mut chars = text.char_indices().peekable();
    let mut buf = [0u8; 4];
    let mut chunk = String::new();
    while let Some((start, c)) = chars.next() {
        let mut end = start + c.len_utf8();
        let followed_by_mark = chars.peek().is_some_and(|&(_, n)| is_mark(n));
        if !followed_by_mark && is_stable(c) {
            let c = c.to_ascii_lowercase();
            out.push(c.encode_utf8(&mut buf), start, end);
            continue;
        }
        chunk.clear();
        chunk.push(c);
        while let Some(&(i, n)) = chars.peek() {
            if !is_mark(n) {
                break;
            }
            chunk.push(n);
            end = i + n.len_utf8();
            chars.next();
        }
        for n in chunk.nfkc().flat_map(char::to_lowercase) {
            let n = fold_punctuation(n);
            if n.is_control() && n != '\n' && n != '\t' {
                continue;
            }
            out.push(n.encode_utf8(&mut buf), start, end);
        }
    }
    out
}

/// Characters NFKC and lower-casing leave alone (the bulk of Japanese text),
/// apart from ASCII upper case handled by the caller.
fn is_stable(c: char) -> bool {
    matches!(c,
        '\u{20}'..='\u{7e}' | '\n' | '\t'
        | '\u{3041}'..='\u{3096}' // hiragana
        | '\u{30a1}'..='\u{30fc}' // katakana and ー
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{3001}' | '\u{3002}' | '\u{300c}' | '\u{300d}')
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{ff9e}' | '\u{ff9f}' | '\u{3099}' | '\u{309a}')
        || canonical_combining_class(c) != 0
}

/// Dashes and minus signs that NFKC leaves apart, as one hyphen.
fn fold_punctuation(c: char) -> char {
    match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe63}' => '-',
        '\u{301c}' => '~',
        _ => c,
    }
}

pub fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30a1}'..='\u{30fa}' | '\u{30fc}')
}

pub fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}')
}

pub fn is_kana(c: char) -> bool {
    is_katakana(c) || is_hiragana(c) || c == 'ー'
}

pub fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}' | '々' | '〆' | 'ヶ')
}

/// Folds one analysed term (already normalised): hiragana become katakana, and
/// a katakana word of four or more characters loses its final long vowel, so
/// that サーバ = サーバー = さーばー and プリンタ = プリンター (the rule of JIS Z 8301
/// that Lucene's Japanese analyser follows). A hyphen or wave dash written after
/// katakana as a long vowel (`サ-バ`) counts as one.
pub fn fold_term(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    let mut prev_kana = false;
    for c in term.chars() {
        let c = if is_hiragana(c) {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        } else if prev_kana && matches!(c, '-' | '~') {
            'ー'
        } else {
            c
        };
        prev_kana = is_katakana(c);
        out.push(c);
    }
    if out.chars().all(is_katakana) && out.chars().count() >= 4 {
        while out.ends_with('ー') {
            out.pop();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_and_case() {
        assert_eq!(normalize("ﾛｸﾞｵﾝ ﾊﾟｽﾜｰﾄﾞ").text, "ログオン パスワード");
        assert_eq!(normalize("ＰＣのＩＤ１２３").text, "pcのid123");
        assert_eq!(normalize("Microsoft 365").text, "microsoft 365");
        assert_eq!(normalize("㈱髙橋①").text, "(株)髙橋1");
        assert_eq!(normalize("\\\\fs01\\share").text, "\\\\fs01\\share");
    }

    #[test]
    fn offsets_point_into_the_original() {
        let original = "ﾊﾟｽﾜｰﾄﾞを忘れた";
        let n = normalize(original);
        assert_eq!(n.text, "パスワードを忘れた");
        let pw_end = "パスワード".len();
        let (from, to) = n.original_range(0, pw_end);
        assert_eq!(&original[from..to], "ﾊﾟｽﾜｰﾄﾞ");
        let start = n.text.find("忘れ").unwrap();
        let (from, to) = n.original_range(start, start + "忘れ".len());
        assert_eq!(&original[from..to], "忘れ");
    }

    #[test]
    fn terms_fold_kana_and_long_vowels() {
        assert_eq!(fold_term("サーバー"), "サーバ");
        assert_eq!(fold_term("サーバ"), "サーバ");
        assert_eq!(fold_term("さーばー"), "サーバ");
        assert_eq!(fold_term("プリンター"), "プリンタ");
        assert_eq!(fold_term("コピー"), "コピー");
        assert_eq!(fold_term("サ-バ-"), "サーバ");
        assert_eq!(fold_term("わすれる"), "ワスレル");
        assert_eq!(fold_term("teams"), "teams");
    }
}
