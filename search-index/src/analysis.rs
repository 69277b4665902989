//! Analysis: text to index terms, the same way for documents and queries.
//!
//! Two term streams come out of one pass of the morphological analyser:
//! - **morph**: base forms of content words (particles, auxiliaries, symbols,
//!   fillers and dependent words dropped), folded with [`fold_term`];
//! - **bigram**: character bigrams inside each word (and across a run of kana
//!   words, which the analyser splits arbitrarily when people type in
//!   hiragana), for recall on partial words, variants and typos. Bigrams never
//!   cross a boundary between kanji words, so 京都 does not match 東京都.
//!
//! Offsets are byte offsets into the original text, for highlighting.

use crate::{
    dictionary,
    normalize::{fold_term, is_hiragana, is_kana, normalize},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub from: usize,
    pub to: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub morph: Vec<Term>,
    pub bigram: Vec<Term>,
}

impl Analysis {
    pub fn morph_texts(&self) -> Vec<&str> {
        self.morph.iter().map(|t| t.text.as_str()).collect()
    }
}

/// Part-of-speech classes that carry no meaning for search.
fn is_function_word(pos: &[&str; 3]) -> bool {
    match pos[0] {
        "助詞" | "助動詞" | "記号" | "フィラー" | "接続詞" | "連体詞" | "感動詞" | "その他" => {
            true
        }
        "名詞" => matches!(pos[1], "非自立" | "代名詞") || pos[1] == "接尾" && pos[2] == "人名",
        "動詞" | "形容詞" => matches!(pos[1], "非自立" | "接尾"),
        _ => false,
    }
}

/// Verbs and adjectives so common that they only add noise.
const LIGHT_WORDS: &[&str] = &[
    "する",
    "いる",
    "ある",
    "なる",
    "できる",
    "やる",
    "くる",
    "来る",
    "いう",
    "言う",
    "ない",
    "おる",
    "いただく",
    "くださる",
    "下さる",
    "もらう",
    "しまう",
    "思う",
    "れる",
    "られる",
    "せる",
    "させる",
    "お",
    "ご",
    "御",
];

struct Unit {
    text: String,
    from: usize,
    to: usize,
    kana: bool,
}

/// One token of the analyser, its byte range in the normalised text.
struct Raw<'a> {
    surface: &'a str,
    base: &'a str,
    pos: [&'a str; 3],
    start: usize,
    end: usize,
}

fn is_ascii_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Analyses `text` into morph and bigram terms.
pub fn analyze(text: &str) -> Analysis {
    let normalized = normalize(text);
    let mut analysis = Analysis::default();
    if normalized.text.trim().is_empty() {
        return analysis;
    }
    let mut units: Vec<Unit> = Vec::new();
    dictionary::with_worker(|worker| {
        worker.reset_sentence(&normalized.text);
        worker.tokenize();
        let mut raws: Vec<Raw<'_>> = Vec::with_capacity(worker.num_tokens());
        for i in 0..worker.num_tokens() {
            let token = worker.token(i);
            let surface = token.surface();
            if surface.trim().is_empty() {
                continue;
            }
            let range = token.range_byte();
            let mut features = token.feature().split(',');
            let pos = [
                features.next().unwrap_or(""),
                features.next().unwrap_or(""),
                features.next().unwrap_or(""),
            ];
            let base = features.nth(3).filter(|b| *b != "*").unwrap_or(surface);
            raws.push(Raw {
                surface,
                base,
                pos,
                start: range.start,
                end: range.end,
            });
        }
        let original = |start: usize, end: usize| normalized.original_range(start, end);
        let mut i = 0;
        while i < raws.len() {
            let raw = &raws[i];
            // Letters and digits written together are one word as well as their
            // parts: m365 = m + 365, windows11 = windows + 11.
            if is_ascii_word(raw.surface) {
                let mut j = i + 1;
                while j < raws.len()
                    && raws[j].start == raws[j - 1].end
                    && is_ascii_word(raws[j].surface)
                {
                    j += 1;
                }
                let (from, to) = original(raw.start, raws[j - 1].end);
                let joined = &normalized.text[raw.start..raws[j - 1].end];
                analysis.morph.push(Term {
                    text: joined.to_owned(),
                    from,
                    to,
                });
                units.push(Unit {
                    text: joined.to_owned(),
                    from,
                    to,
                    kana: false,
                });
                if j - i > 1 {
                    for part in &raws[i..j] {
                        let (from, to) = original(part.start, part.end);
                        analysis.morph.push(Term {
                            text: part.surface.to_owned(),
                            from,
                            to,
                        });
                    }
                }
                i = j;
                continue;
            }
            i += 1;
            let (from, to) = original(raw.start, raw.end);
            if is_function_word(&raw.pos) {
                continue;
            }
            // Light words stay in the bigram units: typed in kana they are
            // often a content word the analyser misread (なくした = な+くし+た).
            units.push(Unit {
                text: fold_term(raw.surface),
                from,
                to,
                kana: raw.surface.chars().all(is_kana),
            });
            if LIGHT_WORDS.contains(&raw.base) {
                continue;
            }
            // A lone hiragana or symbol character is noise (お, ご, ・, ー).
            let mut chars = raw.base.chars();
            if let (Some(c), None) = (chars.next(), chars.next())
                && (!c.is_alphanumeric() || is_hiragana(c) || c == 'ー')
            {
                continue;
            }
            analysis.morph.push(Term {
                text: fold_term(raw.base),
                from,
                to,
            });
        }
    });
    // Runs of adjacent kana words are one unit for bigrams.
    let mut merged: Vec<Unit> = Vec::with_capacity(units.len());
    for unit in units {
        match merged.last_mut() {
            Some(last) if last.kana && unit.kana && last.to == unit.from => {
                last.text.push_str(&unit.text);
                last.to = unit.to;
            }
            _ => merged.push(unit),
        }
    }
    for unit in &mut merged {
        // Long vowels anywhere in katakana are spelling variants for bigrams:
        // インターフェース = インタフェース, サーバー = サーバ.
        if unit.kana {
            unit.text.retain(|c| c != 'ー');
        }
        push_bigrams(unit, &mut analysis.bigram);
    }
    analysis
}

/// Bigrams of a unit; ASCII words stay whole; a one-character unit is a unigram.
/// The offsets of a unit's terms are the unit's (a bigram of a folded word does
/// not map to exact characters of the original).
fn push_bigrams(unit: &Unit, out: &mut Vec<Term>) {
    let chars: Vec<char> = unit.text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ascii = chars[i].is_ascii_alphanumeric();
        let mut j = i + 1;
        while j < chars.len() && chars[j].is_ascii_alphanumeric() == ascii {
            j += 1;
        }
        let run = &chars[i..j];
        let term = |text: String| Term {
            text,
            from: unit.from,
            to: unit.to,
        };
        if ascii || run.len() == 1 {
            if run.iter().any(|c| c.is_alphanumeric()) {
                out.push(term(run.iter().collect()));
            }
        } else {
            for pair in run.windows(2) {
                if pair.iter().all(|c| c.is_alphanumeric() || *c == 'ー') {
                    out.push(term(pair.iter().collect()));
                }
            }
        }
        i = j;
    }
}
