//! What the sender wrote in a reply, without the quoted original and the signature.
//! The full text stays on the stored message; this is only what goes into the comment.

/// Lines that introduce the quoted original, as Outlook, Thunderbird, Gmail and Japanese
/// mailers write them.
fn is_attribution(line: &str, next: Option<&str>) -> bool {
    let l = line.trim();
    let lower = l.to_lowercase();
    if lower.starts_with("-----original message-----")
        || l.starts_with("-----元のメッセージ-----")
        || l.starts_with("----- 元のメッセージ -----")
        || l.starts_with("-----Original Message-----")
        || lower.starts_with("---------- forwarded message")
        || l.starts_with("________________________________")
    {
        return true;
    }
    // `On Fri, Nov 20, 2026 at 10:00 AM 山田 <x@y> wrote:` / `… さんは書きました:`
    if (lower.ends_with("wrote:")
        || l.ends_with("書きました:")
        || l.ends_with("書きました：")
        || l.ends_with("のメッセージ:")
        || l.ends_with("wrote：")
        || l.ends_with(">:"))
        && next.is_none_or(|n| n.trim().is_empty() || n.trim_start().starts_with('>'))
    {
        return true;
    }
    // Outlook's header block: `From: …` / `差出人: …` followed by `Sent:` / `送信日時:`.
    let header_start = ["from:", "差出人:", "差出人：", "送信者:"];
    let header_next = ["sent:", "date:", "送信日時:", "送信日時：", "日時:"];
    header_start.iter().any(|p| lower.starts_with(p))
        && next.is_some_and(|n| {
            let n = n.trim().to_lowercase();
            header_next.iter().any(|p| n.starts_with(p))
        })
}

/// A line that only separates: `-- `, or ten or more rule characters.
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.chars().count() >= 10
        && t.chars().all(|c| {
            matches!(
                c,
                '-' | '='
                    | '_'
                    | '*'
                    | '━'
                    | '─'
                    | '＝'
                    | '－'
                    | '～'
                    | '〜'
                    | '■'
                    | '□'
                    | '+'
                    | '#'
            )
        })
}

/// A short block with contact details: what follows a rule in a signature.
fn looks_like_signature(lines: &[&str]) -> bool {
    let filled: Vec<&&str> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
    !filled.is_empty()
        && filled.len() <= 10
        && filled.iter().any(|l| {
            let l = l.to_uppercase();
            ["@", "TEL", "内線", "電話", "FAX", "課", "係", "部", "学校"]
                .iter()
                .any(|k| l.contains(k))
        })
}

/// The reply part of a message body.
pub fn reply_part(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if is_attribution(line, lines.get(i + 1).copied()) {
            end = i;
            break;
        }
    }
    // A trailing block of `>` lines (with blanks between) is the quote of a top-post.
    let mut j = end;
    while j > 0 && (lines[j - 1].trim_start().starts_with('>') || lines[j - 1].trim().is_empty()) {
        j -= 1;
    }
    if lines[j..end]
        .iter()
        .any(|l| l.trim_start().starts_with('>'))
    {
        end = j;
    }
    // The signature: `-- ` anywhere, or a rule line near the end (signatures in Japanese
    // mail are framed with rules and are rarely longer than a dozen lines).
    if let Some(i) = (0..end).find(|i| lines[*i] == "-- " || lines[*i] == "--") {
        end = i;
    } else if let Some(i) =
        (0..end).find(|i| is_rule(lines[*i]) && looks_like_signature(&lines[*i + 1..end]))
        && lines[..i].iter().any(|l| !l.trim().is_empty())
    {
        end = i;
    }
    lines[..end].join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::reply_part;

    #[test]
    fn outlook_replies_lose_the_header_block_and_what_follows() {
        let body = "了解しました。再起動したら直りました。\n\n差出人: ヘルプデスク <hd@city.example.jp>\n送信日時: 2026年11月20日 10:00\n宛先: 山田\n件名: RE: [HD-2026-000001]\n\n再起動をお試しください。";
        assert_eq!(reply_part(body), "了解しました。再起動したら直りました。");
    }

    #[test]
    fn gmail_and_thunderbird_quotes_and_signatures_are_trimmed() {
        let body = "ありがとうございます。\n\n2026年11月20日(金) 10:00 ヘルプデスク <hd@city.example.jp>:\n> 再起動を\n> お試しください。\n";
        assert_eq!(reply_part(body), "ありがとうございます。");
        let tb =
            "直りました。\n\nOn 2026/11/20 10:00, ヘルプデスク wrote:\n> 再起動を\n\n-- \n山田";
        assert_eq!(reply_part(tb), "直りました。");
        let sig =
            "印刷できません。\n\n━━━━━━━━━━━━━━━━\n総務課 山田太郎\n内線 1234\n━━━━━━━━━━━━━━━━";
        assert_eq!(reply_part(sig), "印刷できません。");
    }

    #[test]
    fn interleaved_answers_and_plain_text_are_kept() {
        let body = "> 機種は？\nFMV-A123 です。\n> 場所は？\n3階です。";
        assert_eq!(reply_part(body), body);
        assert_eq!(
            reply_part("a\\b\n\\\\fs01\\share\\new"),
            "a\\b\n\\\\fs01\\share\\new"
        );
        let table = "手順:\n----------\n1. 再起動\n2. 確認";
        assert_eq!(
            reply_part(table),
            table,
            "a rule inside the text is not a signature"
        );
    }
}
