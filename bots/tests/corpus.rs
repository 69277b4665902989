//! Decoding the mail corpus (`tests/mail/corpus`, written by `tests/mail/make_corpus.py`
//! the way Outlook, Thunderbird, Gmail, carriers and old mailers send Japanese mail).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bots::mail::parse;
use service::mail::{Automatic, InboundMail};

fn corpus(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/mail/corpus")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn parsed(name: &str) -> InboundMail {
    parse(&corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const UNC: &str = r"\\fs01\share\new";

#[test]
fn outlook_iso_2022_jp_with_microsoft_extensions() {
    let m = parsed("01-outlook-iso2022jp-ms.eml");
    assert_eq!(m.subject, "共有フォルダに入れません①");
    assert_eq!(m.from.unwrap().name.as_deref(), Some("山田 太郎"));
    assert!(
        m.text.contains("①番の端末で㈱髙橋商事の共有フォルダ"),
        "{}",
        m.text
    );
    assert!(m.text.contains(UNC), "backslashes kept exactly: {}", m.text);
    assert!(
        m.notes.is_empty(),
        "labelled right, nothing guessed: {:?}",
        m.notes
    );
    assert_eq!(m.message_id.as_deref(), Some("outlook-1@city.example.jp"));
}

#[test]
fn charsets_missing_wrong_or_raw_are_detected_and_noted() {
    let m = parsed("02-no-charset-iso2022jp.eml");
    assert_eq!(
        m.subject, "プリンタが印刷できない",
        "raw ISO-2022-JP in a header"
    );
    assert_eq!(m.text.trim(), "３階のプリンタで印刷できません。");
    assert_eq!(m.notes.len(), 1);

    let m = parsed("03-windows31j-qp.eml");
    assert_eq!(m.subject, "フォルダ権限の申請");
    assert!(
        m.text.contains(&format!("ファイルサーバ {UNC} の権限")),
        "{}",
        m.text
    );
    assert!(m.text.contains("髙橋さんの分も①②③"));

    let m = parsed("04-raw-8bit-sjis.eml");
    assert_eq!(m.subject, "ログインできません", "8-bit Shift_JIS header");
    assert_eq!(m.from.unwrap().name.as_deref(), Some("田中 花子"));
    assert!(m.text.starts_with("スマホから失礼します。"));

    assert_eq!(
        parsed("05-eucjp-base64.eml").text,
        "EUC-JPで書かれた古いメールです。"
    );
    assert_eq!(parsed("05-eucjp-base64.eml").subject, "古いメーラーから");

    let m = parsed("06-wrong-charset.eml");
    assert_eq!(m.text, "文字コードの指定が間違っています。");
    assert_eq!(
        m.notes,
        ["文字コードをShift_JISと判定しました（指定はiso-8859-1）"]
    );
}

#[test]
fn gmail_alternative_prefers_text_and_records_cc() {
    let m = parsed("07-gmail-alternative.eml");
    assert_eq!(
        m.text.trim(),
        format!("Teamsの会議に参加できません。\n{UNC}")
    );
    let cc: Vec<_> =
        m.cc.iter()
            .map(|a| (a.address.as_str(), a.name.as_deref()))
            .collect();
    assert_eq!(
        cc,
        [
            ("other@city.example.jp", Some("佐藤 花子")),
            ("someone@outside.example.com", Some("外部"))
        ]
    );
}

#[test]
fn html_only_mail_becomes_text_with_its_line_breaks() {
    let m = parsed("08-outlook-html-only.eml");
    assert_eq!(
        m.text,
        format!("お疲れ様です。\n\n共有フォルダ{UNC}が見えません。\n至急お願いします。")
    );
}

#[test]
fn japanese_attachment_names_in_rfc_2231_and_rfc_2047() {
    let m = parsed("09-attachments.eml");
    let names: Vec<_> = m.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["利用申請書.xlsx", "集計表①.xlsm", "請求書.exe"]);
    assert!(m.attachments[2].data.starts_with(b"MZ"));
    assert_eq!(
        service::mail::attachment_flag(&m.attachments[1].filename, &m.attachments[1].data),
        Some("macro")
    );
}

#[test]
fn automatic_mail_is_recognised() {
    assert_eq!(
        parsed("10-auto-replied.eml").automatic,
        Some(Automatic::AutoSubmitted("auto-replied".into()))
    );
    assert_eq!(
        parsed("11-bulk.eml").automatic,
        Some(Automatic::Bulk("Precedence: bulk".into()))
    );
    assert!(matches!(
        parsed("12-ooo-subject-only.eml").automatic,
        Some(Automatic::AutoReply(_))
    ));
    assert_eq!(
        parsed("13-from-ourselves.eml").automatic,
        None,
        "own addresses are the service's rule"
    );
    assert_eq!(parsed("01-outlook-iso2022jp-ms.eml").automatic, None);
}

#[test]
fn delivery_status_notifications_name_the_original() {
    let b = parsed("14-dsn.eml").bounce.expect("a DSN");
    assert_eq!(b.original_message_ids, ["sent-ack-1@madoguchi.local"]);
    assert_eq!(b.recipient.as_deref(), Some("gone@city.example.jp"));
    assert!(
        b.diagnostic.starts_with("5.1.1 / smtp; 550 5.1.1"),
        "{}",
        b.diagnostic
    );
    assert!(parsed("01-outlook-iso2022jp-ms.eml").bounce.is_none());
}

#[test]
fn broken_mail_is_read_as_far_as_it_goes() {
    let m = parsed("20-truncated-mime.eml");
    assert_eq!(m.text, "途中で切れたメールです。");
    assert_eq!(
        m.attachments.len(),
        1,
        "the cut attachment is kept, as far as it goes"
    );
    let m = parsed("21-bad-base64.eml");
    assert!(m.text.starts_with("壊れたBase64で"), "{}", m.text);
    assert_eq!(m.notes.len(), 1);
    let m = parsed("22-not-a-mail.eml");
    assert!(
        m.from.is_none() && m.message_id.is_none(),
        "binary junk has no sender: quarantined later"
    );
    assert!(parse(b"").is_err() && parse(b"\r\n\r\n").is_err());
}

#[test]
fn a_thousand_parts_and_a_fifty_megabyte_attachment() {
    let mut raw = String::from(
        "From: a@city.example.jp\r\nTo: helpdesk@city.example.jp\r\nSubject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n",
    );
    raw.push_str("--P\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本文\r\n");
    for i in 0..1000 {
        raw.push_str(&format!("--P\r\nContent-Type: text/csv; name=\"f{i}.csv\"\r\nContent-Disposition: attachment; filename=\"f{i}.csv\"\r\n\r\n{i}\r\n"));
    }
    raw.push_str("--P--\r\n");
    let m = parse(raw.as_bytes()).unwrap();
    assert_eq!(m.text.trim(), "本文");
    assert_eq!(m.attachments.len(), 1000);

    let big = vec![b'A'; 50 * 1024 * 1024 / 3 * 4];
    let mut raw = b"From: a@city.example.jp\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n--P\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--P\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    for line in big.chunks(76) {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"--P--\r\n");
    let m = parse(&raw).unwrap();
    assert_eq!(m.attachments[0].data.len(), 50 * 1024 * 1024 / 3 * 3);
}
