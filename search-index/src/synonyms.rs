//! Synonyms as data: groups of words that mean the same thing (PW, パスワード;
//! M365, Microsoft 365). They expand queries, never documents, so editing them
//! needs no reindex. The built-in groups cover general IT vocabulary; a tenant
//! adds its own on top (see the service's `search_synonyms`).

use std::collections::HashMap;

use crate::analysis::analyze;

/// One group per line, members separated by commas; `#` starts a comment.
pub const DEFAULT_SYNONYMS: &str = include_str!("../dict/synonyms.txt");

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synonyms {
    groups: Vec<Group>,
    /// (group, member) by the first analysed word of the member: a query looks up its own
    /// words here instead of trying every member of every group.
    by_first_word: HashMap<String, Vec<(usize, usize)>>,
    /// A hash of the groups (0 when there are none), which names this set in caches of
    /// answers given with it.
    fingerprint: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    /// As written, for display and for analysing expansions.
    members: Vec<String>,
    /// Each member's analysed word sequence, matched against a query's.
    keys: Vec<Vec<String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("同義語の{line}行目: {reason}")]
pub struct SynonymError {
    pub line: usize,
    pub reason: String,
}

impl Synonyms {
    /// The built-in general IT vocabulary.
    pub fn defaults() -> Self {
        match Self::parse(DEFAULT_SYNONYMS) {
            Ok(s) => s,
            // Compiled in and covered by a test.
            Err(e) => panic!("built-in synonyms are invalid: {e}"),
        }
    }

    /// Parses groups, one per line. A group needs two members or more; a member
    /// is at most 100 characters.
    pub fn parse(text: &str) -> Result<Self, SynonymError> {
        let mut groups = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let members: Vec<String> = line
                .split([',', '、', '，'])
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            groups.push(Self::group(members).map_err(|reason| SynonymError {
                line: i + 1,
                reason,
            })?);
        }
        Ok(Self::indexed(groups))
    }

    /// Builds from groups given as lists (as GraphQL takes them).
    pub fn from_groups(groups: &[Vec<String>]) -> Result<Self, SynonymError> {
        let groups = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                Self::group(g.clone()).map_err(|reason| SynonymError {
                    line: i + 1,
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::indexed(groups))
    }

    fn indexed(groups: Vec<Group>) -> Self {
        let mut by_first_word: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (m, key) in group.keys.iter().enumerate() {
                if let Some(first) = key.first() {
                    by_first_word.entry(first.clone()).or_default().push((g, m));
                }
            }
        }
        let fingerprint = if groups.is_empty() {
            0
        } else {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for g in &groups {
                g.members.hash(&mut h);
            }
            h.finish()
        };
        Self {
            groups,
            by_first_word,
            fingerprint,
        }
    }

    /// Names this set of groups: sets with the same groups in the same order have the same
    /// fingerprint.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn group(members: Vec<String>) -> Result<Group, String> {
        let members: Vec<String> = members
            .into_iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        if members.len() < 2 {
            return Err("同義語のグループには2語以上が必要です".into());
        }
        if let Some(long) = members.iter().find(|m| m.chars().count() > 100) {
            return Err(format!(
                "「{}…」が長すぎます（100文字まで）",
                long.chars().take(10).collect::<String>()
            ));
        }
        let keys: Vec<Vec<String>> = members
            .iter()
            .map(|m| analyze(m).morph.into_iter().map(|t| t.text).collect())
            .collect();
        if let Some((m, _)) = members.iter().zip(&keys).find(|(_, k)| k.is_empty()) {
            return Err(format!(
                "「{m}」は検索語になりません（記号や助詞だけの語は使えません）"
            ));
        }
        Ok(Group { members, keys })
    }

    pub fn groups(&self) -> impl Iterator<Item = &[String]> {
        self.groups.iter().map(|g| g.members.as_slice())
    }

    /// This set followed by `other`'s groups.
    pub fn with(&self, other: &Synonyms) -> Synonyms {
        let mut groups = self.groups.clone();
        groups.extend(other.groups.iter().cloned());
        Self::indexed(groups)
    }

    /// The groups one of whose members occurs in a query whose analysed words
    /// are `query`: for each, the positions of the query words it matched and
    /// the other members (the words to add to the query). Matching is on whole
    /// words, so ネット is not found in ネットワーク and PW is not found in PWA.
    pub fn matches(&self, query: &[&str]) -> Vec<SynonymMatch<'_>> {
        // Every occurrence of a member: (group, member, first position).
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        for (i, word) in query.iter().enumerate() {
            for &(g, m) in self.by_first_word.get(*word).into_iter().flatten() {
                let key = &self.groups[g].keys[m];
                if query.len() - i >= key.len()
                    && query[i..i + key.len()]
                        .iter()
                        .zip(key)
                        .all(|(a, b)| *a == b)
                {
                    hits.push((g, m, i));
                }
            }
        }
        hits.sort_unstable();
        let mut out = Vec::new();
        for of_group in hits.chunk_by(|a, b| a.0 == b.0) {
            let group = &self.groups[of_group[0].0];
            let found = |m: usize| of_group.iter().any(|h| h.1 == m);
            let positions: Vec<usize> = of_group
                .iter()
                .flat_map(|&(_, m, i)| i..i + group.keys[m].len())
                .collect();
            let (others, other_words): (Vec<&str>, Vec<&[String]>) = group
                .members
                .iter()
                .zip(&group.keys)
                .enumerate()
                .filter(|(m, _)| !found(*m))
                .map(|(_, (member, key))| (member.as_str(), key.as_slice()))
                .unzip();
            if !others.is_empty() {
                out.push(SynonymMatch::new(positions, others, other_words));
            }
        }
        out
    }

    /// The words to add to a query: every other member of every matched group.
    pub fn expand(&self, query: &[&str]) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for m in self.matches(query) {
            for w in m.others {
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
        out
    }
}

/// A synonym group found in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynonymMatch<'a> {
    /// Positions (in the query's analysed words) of the member found.
    pub positions: Vec<usize>,
    /// The group's other members.
    pub others: Vec<&'a str>,
    /// Their analysed words (analysed once, when the synonyms were parsed).
    pub other_words: Vec<&'a [String]>,
}

impl<'a> SynonymMatch<'a> {
    /// A match covering `positions` (in any order, repeats allowed).
    fn new(
        mut positions: Vec<usize>,
        others: Vec<&'a str>,
        other_words: Vec<&'a [String]>,
    ) -> Self {
        positions.sort_unstable();
        positions.dedup();
        Self {
            positions,
            others,
            other_words,
        }
    }
}

/// The positions covered by each occurrence of `needle` in `haystack`.
#[cfg(test)]
fn find(haystack: &[&str], needle: &[String]) -> Vec<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return Vec::new();
    }
    (0..=haystack.len() - needle.len())
        .filter(|&i| {
            haystack[i..i + needle.len()]
                .iter()
                .zip(needle)
                .all(|(a, b)| *a == b)
        })
        .flat_map(|i| i..i + needle.len())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member of every group tried against the whole query (how `matches` worked before
    /// it looked members up by their first word).
    fn matches_naive<'a>(s: &'a Synonyms, query: &[&str]) -> Vec<SynonymMatch<'a>> {
        let mut out = Vec::new();
        for group in &s.groups {
            let mut positions = Vec::new();
            let mut others = Vec::new();
            let mut other_words = Vec::new();
            for (member, key) in group.members.iter().zip(&group.keys) {
                let found = find(query, key);
                if found.is_empty() {
                    others.push(member.as_str());
                    other_words.push(key.as_slice());
                }
                positions.extend(found);
            }
            if !positions.is_empty() && !others.is_empty() {
                out.push(SynonymMatch::new(positions, others, other_words));
            }
        }
        out
    }

    #[test]
    fn looked_up_matches_are_the_exhaustive_ones() {
        let s = Synonyms::defaults().with(
            &Synonyms::parse("庁内LAN, 内部ネットワーク, LGWAN\nPC, パソコン, 端末").unwrap(),
        );
        let words: Vec<String> = s
            .groups
            .iter()
            .flat_map(|g| g.keys.iter().flatten().cloned())
            .chain(["が", "使え", "ない", "の", "設定"].map(String::from))
            .collect();
        let mut queries: Vec<Vec<&str>> = vec![vec![]];
        for g in &s.groups {
            for k in &g.keys {
                queries.push(k.iter().map(String::as_str).collect());
            }
        }
        // Deterministic pseudo-random word sequences (with members side by side, repeated,
        // overlapping and cut short).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3_000 {
            let len = (x % 9) as usize;
            let mut q = vec![];
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                q.push(words[(x % words.len() as u64) as usize].as_str());
            }
            queries.push(q);
        }
        let mut matched = 0;
        for q in &queries {
            let want = matches_naive(&s, q);
            matched += usize::from(!want.is_empty());
            assert_eq!(s.matches(q), want, "{q:?}");
        }
        assert!(matched > 300, "only {matched} queries matched a group");
    }

    #[test]
    fn built_in_groups_parse() {
        let s = Synonyms::defaults();
        assert!(s.groups().count() > 20);
    }

    #[test]
    fn expansion_matches_whole_ascii_words_and_folded_kana() {
        let s = Synonyms::parse(
            "パスワード, PW\nMicrosoft 365, M365, Office 365\nTeams, チームズ\nサーバー, 鯖\nインターネット, ネット\n削除, 消す",
        )
        .unwrap();
        let expand = |q: &str| {
            let a = analyze(q);
            s.expand(&a.morph_texts())
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            expand("M365 PW忘れた"),
            ["パスワード", "Microsoft 365", "Office 365"]
        );
        assert_eq!(expand("ＰＷＡを入れたい"), Vec::<String>::new());
        assert_eq!(expand("チームズが落ちる"), ["Teams"]);
        assert_eq!(expand("サーバが重い"), ["鯖"]);
        assert_eq!(expand("Microsoft365"), ["M365", "Office 365"]);
        assert_eq!(expand("ネットワークが遅い"), Vec::<String>::new());
        assert_eq!(expand("ファイルを消してしまった"), ["削除"]);
    }

    #[test]
    fn bad_groups_are_refused_with_their_line() {
        assert_eq!(Synonyms::parse("a, b\nただ一語").unwrap_err().line, 2);
        assert!(Synonyms::parse("・・, a").is_err());
        assert!(Synonyms::from_groups(&[vec!["x".repeat(101), "y".into()]]).is_err());
    }
}
