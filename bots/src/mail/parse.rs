//! Raw mail bytes to [`InboundMail`]: mail-parser for the MIME structure, our own charset
//! handling for every piece of text a Japanese mailer may have mislabelled (bodies, 8-bit
//! or raw ISO-2022-JP headers, file names), automatic-mail and bounce recognition.

use chrono::{DateTime, Utc};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use service::mail::{Automatic, Bounce, Envelope, InboundAttachment, InboundMail, MailAddress};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{charset, html, quote};

/// Parses a message; `Err` only when the bytes are not a mail at all.
pub fn parse(raw: &[u8]) -> Result<InboundMail, String> {
    let msg = parse_message(raw)?;
    let mut notes = Vec::new();
    let subject = header_text(&msg, "Subject").unwrap_or_default();
    let from = addresses(&msg, "From").into_iter().next();
    let mut text = String::new();
    for part in msg.text_bodies() {
        let (t, note) = part_text(&msg, part);
        notes.extend(note);
        if !text.is_empty() && !t.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&t);
    }
    if text.trim().is_empty() {
        for part in msg.html_bodies() {
            let (t, note) = part_text(&msg, part);
            notes.extend(note);
            text.push_str(&t);
        }
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let reply_text = quote::reply_part(&text);

    let mut attachments = Vec::new();
    for part in msg.attachments() {
        let (data, note) = part_bytes(&msg, part);
        notes.extend(note);
        attachments.push(InboundAttachment {
            filename: attachment_name(&msg, part),
            content_type: content_type(part),
            data,
        });
    }
    notes.sort();
    notes.dedup();
    let automatic = automatic(&msg, &subject);
    let bounce = bounce(&msg, &subject, from.as_ref());
    Ok(InboundMail {
        message_id: msg.message_id().map(clean_id),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        from,
        to: addresses(&msg, "To"),
        cc: addresses(&msg, "Cc"),
        sent_at: msg
            .date()
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0)),
        subject,
        reply_text,
        text,
        attachments,
        automatic,
        bounce,
        notes,
    })
}

fn parse_message(raw: &[u8]) -> Result<Message<'_>, String> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err("空のメールです".to_owned());
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "メールの形式として解析できません".to_owned())?;
    if msg.headers().is_empty() {
        return Err("メールヘッダーがありません".to_owned());
    }
    Ok(msg)
}

/// What identifies a message across redeliveries, and which tenant it is for; computed
/// from the headers and the body alone, before the message is stored.
pub fn envelope(
    raw: &[u8],
    source: &str,
    source_ref: Option<String>,
    tenant_for: impl Fn(&[String]) -> Option<Uuid>,
) -> Envelope {
    let msg = parse_message(raw).ok();
    let message_id = msg.as_ref().and_then(|m| m.message_id()).map(clean_id);
    let from = msg
        .as_ref()
        .and_then(|m| addresses(m, "From").into_iter().next());
    let subject = msg.as_ref().and_then(|m| header_text(m, "Subject"));
    let sent_at = msg
        .as_ref()
        .and_then(|m| m.date())
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0));
    let recipients = msg.as_ref().map(recipients).unwrap_or_default();
    let mut h = Sha256::new();
    for field in ["Message-ID", "From", "Date", "Subject"] {
        let v = msg
            .as_ref()
            .and_then(|m| raw_header(m, field))
            .unwrap_or_default();
        h.update(unfold(v).trim_ascii());
        h.update([0]);
    }
    // Line endings differ between the pipe (LF) and IMAP (CRLF); trace headers added on the
    // way differ too. Neither is part of the key.
    let body = body_start(raw).map_or(&raw[raw.len()..], |i| &raw[i..]);
    h.update(
        body.iter()
            .copied()
            .filter(|b| *b != b'\r')
            .collect::<Vec<u8>>(),
    );
    if msg.is_none() {
        h.update(raw);
    }
    Envelope {
        source: source.to_owned(),
        source_ref,
        tenant_id: tenant_for(&recipients),
        dedupe_key: service::mail::hex(&h.finalize()),
        message_id,
        from_address: from.map(|f| f.address),
        subject,
        sent_at,
    }
}

/// Where the body starts: after the first empty line.
fn body_start(raw: &[u8]) -> Option<usize> {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Everyone the message was delivered to, the envelope's own headers first.
fn recipients(msg: &Message) -> Vec<String> {
    let mut out = Vec::new();
    for h in [
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
    ] {
        for hd in msg
            .headers()
            .iter()
            .filter(|x| x.name().eq_ignore_ascii_case(h))
        {
            let v = String::from_utf8_lossy(
                &msg.raw_message()[hd.offset_start as usize..hd.offset_end as usize],
            )
            .into_owned();
            let v = v
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim()
                .to_lowercase();
            if v.contains('@') {
                out.push(v);
            }
        }
    }
    for h in ["To", "Cc", "Resent-To"] {
        out.extend(addresses(msg, h).into_iter().map(|a| a.address));
    }
    out
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn ids(v: &HeaderValue) -> Vec<String> {
    let mut out: Vec<String> = match v {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
        _ => vec![],
    };
    out.retain(|s| !s.is_empty());
    out
}

/// The first header of that name, with the raw bytes of its value (folded as sent).
fn header<'a, 'x>(
    msg: &'a Message<'x>,
    name: &str,
) -> Option<(&'a mail_parser::Header<'x>, &'a [u8])> {
    let h = msg
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    Some((
        h,
        msg.raw_message()
            .get(h.offset_start as usize..h.offset_end as usize)?,
    ))
}

/// The raw bytes of the first header of that name.
fn raw_header<'a>(msg: &'a Message, name: &str) -> Option<&'a [u8]> {
    header(msg, name).map(|(_, raw)| raw)
}

/// Raw ISO-2022-JP or 8-bit bytes that are not UTF-8: mail-parser's reading of such a
/// header is mojibake, ours detects the charset.
fn needs_detection(raw: &[u8]) -> bool {
    raw.contains(&0x1b) || (!raw.is_ascii() && std::str::from_utf8(raw).is_err())
}

fn unfold(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\r' => {}
            b'\n' => {
                // A fold: the newline goes, the whitespace that follows stays as one space.
                if !out.ends_with(b" ") {
                    out.push(b' ');
                }
                while i + 1 < v.len() && matches!(v[i + 1], b' ' | b'\t') {
                    i += 1;
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A text header: mail-parser's decoding (RFC 2047) when the raw value is clean ASCII, our
/// charset detection when it carries raw 8-bit or ISO-2022-JP bytes.
fn header_text(msg: &Message, name: &str) -> Option<String> {
    let (h, raw) = header(msg, name)?;
    let text = if needs_detection(raw) {
        charset::decode(&unfold(raw), None).text
    } else {
        match h.value() {
            HeaderValue::Text(t) => t.to_string(),
            HeaderValue::TextList(l) => l.join(", "),
            _ => String::from_utf8_lossy(&unfold(raw)).into_owned(),
        }
    };
    Some(text.trim().to_owned())
}

/// The addresses of an address header, with display names repaired when the raw header
/// was 8-bit Japanese.
fn addresses(msg: &Message, name: &str) -> Vec<MailAddress> {
    let Some((h, raw)) = header(msg, name) else {
        return vec![];
    };
    let repaired = needs_detection(raw).then(|| charset::decode(&unfold(raw), None).text);
    let parsed: Vec<_> = h
        .value()
        .as_address()
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    if !parsed
        .iter()
        .any(|a| a.address().is_some_and(|x| x.contains('@')))
    {
        // A broken header (the address inside an encoded word, say): find addresses in
        // the decoded text instead.
        let text = repaired
            .clone()
            .or_else(|| header_text(msg, name))
            .unwrap_or_default();
        return addresses_in_text(&text);
    }
    parsed
        .into_iter()
        .filter_map(|a| {
            let address = a.address()?;
            if !address.contains('@') {
                return None;
            }
            let name = match &repaired {
                Some(text) => display_name_before(text, address),
                None => a.name().map(str::to_owned),
            };
            Some(MailAddress::new(address, name.as_deref()))
        })
        .collect()
}

/// `name <addr>, addr2` in free text, as well as it can be read.
fn addresses_in_text(text: &str) -> Vec<MailAddress> {
    let mut out = Vec::new();
    for piece in text.split([',', ';']) {
        let piece = piece.trim();
        let (name, addr) = match (piece.rfind('<'), piece.rfind('>')) {
            (Some(a), Some(b)) if a < b => (
                Some(piece[..a].trim().trim_matches('"').trim()),
                &piece[a + 1..b],
            ),
            _ => (None, piece),
        };
        let addr = addr.trim();
        if addr.contains('@') && !addr.contains(char::is_whitespace) {
            out.push(MailAddress::new(addr, name.filter(|n| !n.is_empty())));
        }
    }
    out
}

/// The display name written before `<address>` in decoded header text.
fn display_name_before(text: &str, address: &str) -> Option<String> {
    let i = text.find(&format!("<{address}"))?;
    let before = text[..i].rsplit(',').next().unwrap_or("");
    let n = before.trim().trim_matches('"').trim();
    (!n.is_empty()).then(|| n.to_owned())
}

fn content_type(part: &MessagePart) -> String {
    part.content_type()
        .map(|ct| match ct.subtype() {
            Some(s) => format!("{}/{}", ct.ctype(), s),
            None => ct.ctype().to_owned(),
        })
        .unwrap_or_else(|| "application/octet-stream".to_owned())
        .to_ascii_lowercase()
}

/// A part's body with the transfer encoding undone; a note when it was broken.
fn part_bytes(msg: &Message, part: &MessagePart) -> (Vec<u8>, Option<String>) {
    if let PartType::Message(m) = &part.body {
        return (m.raw_message().to_vec(), None);
    }
    let raw = msg
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    // The header, not `part.encoding`: mail-parser gives up on broken base64 and calls
    // the part unencoded.
    let cte = part
        .content_transfer_encoding()
        .map(|c| c.trim().to_ascii_lowercase());
    let encoding = match cte.as_deref() {
        Some("base64") => Encoding::Base64,
        Some("quoted-printable") => Encoding::QuotedPrintable,
        _ => part.encoding,
    };
    let decoded = match encoding {
        Encoding::Base64 => base64_decode(raw).or_else(|| lenient_base64(raw)),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
        Encoding::None => Some(raw.to_vec()),
    };
    let broken = encoding == Encoding::Base64 && base64_decode(raw).is_none();
    match decoded {
        Some(d) if broken => (
            d,
            Some("壊れたBase64を含むパートがあり、読める範囲で読み取りました".to_owned()),
        ),
        Some(d) => (d, None),
        None => (
            part.contents().to_vec(),
            Some(
                "壊れたBase64/Quoted-Printableを含むパートがあり、読める範囲で読み取りました"
                    .to_owned(),
            ),
        ),
    }
}

/// Base64 that skips what is not in the alphabet and drops an incomplete last group.
fn lenient_base64(raw: &[u8]) -> Option<Vec<u8>> {
    let vals: Vec<u8> = raw
        .iter()
        .filter_map(|c| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(vals.len() * 3 / 4);
    for g in vals.chunks(4) {
        let n = g
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | (u32::from(*v) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        let take = match g.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[1..1 + take]);
    }
    Some(out)
}

/// A text part as text: transfer encoding undone, charset trusted or detected, HTML
/// converted.
fn part_text(msg: &Message, part: &MessagePart) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let (bytes, note) = part_bytes(msg, part);
    notes.extend(note);
    let declared = part.content_type().and_then(|ct| ct.attribute("charset"));
    let d = charset::decode(&bytes, declared);
    notes.extend(d.note);
    let text = d.text;
    let is_html = matches!(part.body, PartType::Html(_)) || content_type(part) == "text/html";
    (if is_html { html::to_text(&text) } else { text }, notes)
}

/// An attachment's file name: RFC 2231 and RFC 2047 as mail-parser decodes them, raw
/// 8-bit names detected, and a made-up name when there is none.
fn attachment_name(msg: &Message, part: &MessagePart) -> String {
    let parsed = part.attachment_name().map(str::to_owned);
    if let Some(n) = &parsed
        && !n.contains('\u{fffd}')
        && !n.is_empty()
    {
        return n.clone();
    }
    for h in &part.headers {
        let name = h.name();
        if !(name.eq_ignore_ascii_case("Content-Disposition")
            || name.eq_ignore_ascii_case("Content-Type"))
        {
            continue;
        }
        let raw = msg
            .raw_message()
            .get(h.offset_start as usize..h.offset_end as usize)
            .unwrap_or_default();
        let text = charset::decode(&unfold(raw), None).text;
        for key in ["filename=", "name="] {
            if let Some(i) = text.to_ascii_lowercase().find(key) {
                let v = text[i + key.len()..].trim_start();
                let v = if let Some(q) = v.strip_prefix('"') {
                    q.split('"').next().unwrap_or("")
                } else {
                    v.split(';').next().unwrap_or("").trim()
                };
                if !v.is_empty() {
                    return v.to_owned();
                }
            }
        }
    }
    match &part.body {
        PartType::Message(m) => format!("{}.eml", m.subject().unwrap_or("転送メール")),
        _ => parsed.unwrap_or_else(|| "添付ファイル".to_owned()),
    }
}

/// Headers that say a machine sent this on its own (RFC 3834, Precedence, list headers,
/// the out-of-office markers of Exchange and Japanese mailers).
fn automatic(msg: &Message, subject: &str) -> Option<Automatic> {
    let text = |name: &str| header_text(msg, name).map(|v| v.to_ascii_lowercase());
    if let Some(v) = text("Auto-Submitted")
        && v.trim() != "no"
    {
        return Some(Automatic::AutoSubmitted(v));
    }
    if let Some(v) = text("Precedence")
        && ["bulk", "junk", "list", "auto_reply"].contains(&v.trim())
    {
        return Some(Automatic::Bulk(format!("Precedence: {v}")));
    }
    for h in ["List-Id", "List-Unsubscribe"] {
        if raw_header(msg, h).is_some() {
            return Some(Automatic::Bulk(h.to_owned()));
        }
    }
    for h in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Reply",
        "X-Autogenerated",
    ] {
        if raw_header(msg, h).is_some() {
            return Some(Automatic::AutoReply(h.to_owned()));
        }
    }
    let lower = subject.to_lowercase();
    const AUTO_SUBJECTS: &[&str] = &[
        "自動応答",
        "自動返信",
        "不在",
        "out of office",
        "automatic reply",
        "auto:",
        "autoreply",
        "auto reply",
        "自動転送",
    ];
    if AUTO_SUBJECTS
        .iter()
        .any(|p| lower.trim_start().starts_with(p))
    {
        return Some(Automatic::AutoReply(format!("件名: {subject}")));
    }
    None
}

/// A delivery status notification: a `multipart/report; report-type=delivery-status`, or
/// mail from the mailer daemon that carries the original.
fn bounce(msg: &Message, subject: &str, from: Option<&MailAddress>) -> Option<Bounce> {
    let root = msg.root_part();
    let is_report = root.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_none_or(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let from_daemon = from.is_some_and(|a| {
        let local = a.address.split('@').next().unwrap_or("");
        local == "mailer-daemon" || local == "postmaster"
    });
    if !is_report && !from_daemon {
        return None;
    }
    let mut b = Bounce::default();
    let mut carries_original = false;
    for part in &msg.parts {
        let ct = content_type(part);
        match (&part.body, ct.as_str()) {
            (PartType::Message(m), _) => {
                carries_original = true;
                b.original_message_ids.extend(m.message_id().map(clean_id));
            }
            (_, "text/rfc822-headers")
            | (_, "message/delivery-status")
            | (_, "message/global-delivery-status") => {
                let (bytes, _) = part_bytes(msg, part);
                let text = String::from_utf8_lossy(&bytes).into_owned();
                for line in header_lines(&text) {
                    let (k, v) = match line.split_once(':') {
                        Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_owned()),
                        None => continue,
                    };
                    match k.as_str() {
                        "message-id" => {
                            carries_original = true;
                            b.original_message_ids.push(clean_id(&v));
                        }
                        "final-recipient" | "original-recipient" if b.recipient.is_none() => {
                            b.recipient =
                                Some(v.rsplit(';').next().unwrap_or(&v).trim().to_lowercase());
                        }
                        "status" | "diagnostic-code" => {
                            if !b.diagnostic.is_empty() {
                                b.diagnostic.push_str(" / ");
                            }
                            b.diagnostic.push_str(&v);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !is_report && !carries_original {
        return None;
    }
    if b.diagnostic.is_empty() {
        b.diagnostic = if subject.is_empty() {
            "配信エラー".to_owned()
        } else {
            subject.to_owned()
        };
    }
    b.original_message_ids.dedup();
    Some(b)
}

/// Header-style lines (`Name: value`) with continuation lines joined.
fn header_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        out.push(line.trim_end().to_owned());
    }
    out
}
