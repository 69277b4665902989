//! What the benchmark programs share: the machine's description, the user's FAQ and
//! dev-question files.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// One line of `faq.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Faq {
    pub id: String,
    pub category: String,
    pub audience: Vec<String>,
    pub question: String,
    pub answer: String,
    pub keywords: Vec<String>,
}

/// One line of `queries-dev.jsonl`: a question and the articles that answer it (none: decline).
#[derive(Debug, Clone, Deserialize)]
pub struct DevQuery {
    pub q: String,
    pub expected: Vec<String>,
}

/// Reads a JSON Lines file, naming the line that does not parse.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1)))
        .collect()
}

/// An FAQ line as a search document of `tenant`.
pub fn faq_document(f: &Faq, tenant: &str, at: chrono::DateTime<chrono::Utc>) -> search_index::Document {
    search_index::Document {
        kind: search_index::DocKind::Faq,
        id: f.id.clone(),
        tenant: tenant.to_owned(),
        title: f.question.clone(),
        body: f.answer.clone(),
        keywords: f.keywords.clone(),
        category: Some(f.category.clone()),
        audience: f.audience.clone(),
        status: "published".into(),
        number: None,
        requester: None,
        vendors: vec![],
        created: at,
        updated: at,
    }
}

/// The machine, as every benchmark prints it: cores, CPU model, memory, OS.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {mem} GiB RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
