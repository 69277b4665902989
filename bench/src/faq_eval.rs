//! Answer quality of the FAQ search, on the same path the bots use
//! (`SearchIndex::suggest_answers`), against a baseline in the same run.
//!
//! ```text
//! cargo run -p bench --release --bin faq-eval -- [--faq PATH] [--queries PATH] [--verbose]
//! ```
//!
//! Metrics over the questions the FAQ answers: hit@1, hit@3, MRR (first
//! expected article in the top 10). `decline_acc` is over every question: a
//! question the FAQ cannot answer (`expected: []`) must be declined; one it
//! can must not be, and the article shown (the answer, or one of the three
//! choices) must be an expected one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, time::Instant};

use bench::{DevQuery, Faq, faq_document, read_jsonl};
use clap::Parser;
use search_index::{Access, Confidence, FaqAccess, Marks, SearchIndex, Synonyms, TicketAccess};
use tantivy::{
    collector::TopDocs,
    query::{BooleanQuery, Occur, Query, TermQuery},
    schema::{IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value},
    tokenizer::{Token, TokenStream, Tokenizer},
};
use unicode_normalization::UnicodeNormalization;

#[derive(Parser)]
#[command(about = "FAQ answer quality: hit@1, hit@3, MRR and answer-or-decline accuracy")]
struct Args {
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/faq.jsonl"))]
    faq: PathBuf,
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/queries-dev.jsonl"))]
    queries: PathBuf,
    /// Print every question that misses or is decided wrongly.
    #[arg(long)]
    verbose: bool,
    /// Override field weights, for tuning: title,keywords,body,title_bi,keywords_bi,body_bi,synonym
    #[arg(long, value_delimiter = ',')]
    weights: Option<Vec<f32>>,
    /// Override coverage thresholds, for tuning: answer,choose,coverage_weight,body_factor,bigram_mix
    #[arg(long, value_delimiter = ',')]
    thresholds: Option<Vec<f32>>,
    /// Times this many more passes over all questions (warm), for a per-question figure
    /// steadier than the one scored pass's.
    #[arg(long, default_value_t = 20)]
    timing_passes: usize,
}

#[derive(Default)]
struct Score {
    answerable: usize,
    hit1: usize,
    hit3: usize,
    rr: f64,
    decided_right: usize,
    total: usize,
}

impl Score {
    fn rank(&mut self, ranked: &[String], expected: &[String]) -> Option<usize> {
        self.answerable += 1;
        let rank = ranked.iter().take(10).position(|id| expected.contains(id));
        if let Some(r) = rank {
            self.hit1 += usize::from(r == 0);
            self.hit3 += usize::from(r < 3);
            self.rr += 1.0 / (r as f64 + 1.0);
        }
        rank
    }
    fn line(&self) -> String {
        let n = self.answerable.max(1) as f64;
        let mut s = format!(
            "hit@1={:.2} hit@3={:.2} mrr={:.2}",
            self.hit1 as f64 / n,
            self.hit3 as f64 / n,
            self.rr / n
        );
        if self.total > 0 {
            s.push_str(&format!(
                " decline_acc={:.2}",
                self.decided_right as f64 / self.total as f64
            ));
        }
        s
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let faqs: Vec<Faq> = read_jsonl(&args.faq)?;
    let queries: Vec<DevQuery> = read_jsonl(&args.queries)?;
    println!(
        "faq-eval: {} articles ({}), {} questions ({})",
        faqs.len(),
        args.faq.display(),
        queries.len(),
        args.queries.display()
    );

    // Baseline: NFKC character bigrams, plain BM25 over question + keywords + answer.
    let started = Instant::now();
    let baseline = Baseline::build(&faqs)?;
    let mut base = Score::default();
    for q in queries.iter().filter(|q| !q.expected.is_empty()) {
        base.rank(&baseline.search(&q.q)?, &q.expected);
    }
    println!(
        "baseline (NFKC bigrams, BM25): {}  [{:.0} ms]",
        base.line(),
        started.elapsed().as_secs_f64() * 1e3
    );

    // Ours: the bots' path.
    let started = Instant::now();
    let mut index = SearchIndex::in_memory()?;
    if let Some(w) = &args.weights {
        anyhow::ensure!(w.len() == 7, "--weights takes 7 numbers");
        index.weights = search_index::Weights {
            title: w[0],
            keywords: w[1],
            body: w[2],
            title_bi: w[3],
            keywords_bi: w[4],
            body_bi: w[5],
            synonym: w[6],
        };
    }
    let thresholds = match &args.thresholds {
        Some(t) if t.len() == 5 => search_index::Thresholds {
            answer: t[0],
            choose: t[1],
            coverage_weight: t[2],
            body_factor: t[3],
            bigram_mix: t[4],
        },
        Some(_) => anyhow::bail!("--thresholds takes 5 numbers"),
        None => search_index::Thresholds::default(),
    };
    let mut writer = index.writer(64)?;
    let now = chrono::Utc::now();
    for f in &faqs {
        writer.upsert(&faq_document(f, "eval", now))?;
    }
    writer.commit(0)?;
    let indexed = started.elapsed();
    let access = Access {
        tenant: "eval".into(),
        faq: FaqAccess::Published { audiences: vec![] },
        tickets: TicketAccess::None,
    };
    let synonyms = Synonyms::defaults();
    let mut ours = Score::default();
    let mut confidences = [0usize; 3];
    let started = Instant::now();
    for q in &queries {
        let suggestion =
            index.suggest_answers_with(&q.q, &access, &synonyms, thresholds, Marks::Shown)?;
        let shown: Vec<String> = match suggestion.confidence {
            Confidence::Answer => suggestion
                .hits
                .iter()
                .take(1)
                .map(|h| h.id.clone())
                .collect(),
            Confidence::Choose => suggestion
                .hits
                .iter()
                .take(3)
                .map(|h| h.id.clone())
                .collect(),
            Confidence::Decline => vec![],
        };
        confidences[suggestion.confidence as usize] += 1;
        let right = if q.expected.is_empty() {
            suggestion.confidence == Confidence::Decline
        } else {
            shown.iter().any(|id| q.expected.contains(id))
        };
        ours.total += 1;
        ours.decided_right += usize::from(right);
        let ranked: Vec<String> = suggestion.ranked.iter().map(|(id, _)| id.clone()).collect();
        let rank = if q.expected.is_empty() {
            None
        } else {
            ours.rank(&ranked, &q.expected)
        };
        if args.verbose
            && (!right || rank.is_some_and(|r| r > 0) || (!q.expected.is_empty() && rank.is_none()))
        {
            println!(
                "  {:<8} cov={:.2} rank={:<4} expected={:?} got={:?}  {}",
                format!("{:?}", suggestion.confidence),
                suggestion.coverage,
                rank.map_or("-".into(), |r| (r + 1).to_string()),
                q.expected,
                ranked.iter().take(3).collect::<Vec<_>>(),
                q.q
            );
        }
    }
    let per_query = started.elapsed().as_secs_f64() * 1e3 / queries.len() as f64;
    println!(
        "ours (vibrato+IPADIC, bigrams, synonyms): {}  [index {:.0} ms, {:.2} ms/question; answer {} / choose {} / decline {}]",
        ours.line(),
        indexed.as_secs_f64() * 1e3,
        per_query,
        confidences[0],
        confidences[1],
        confidences[2]
    );
    // Warm passes, with highlights (GraphQL `suggestedAnswers`) and without (the chat bots).
    for (label, marks) in [
        ("highlighted", Marks::Shown),
        ("no highlights", Marks::None),
    ] {
        if args.timing_passes == 0 {
            break;
        }
        let mut times = Vec::with_capacity(args.timing_passes * queries.len());
        let cpu = bench::process_cpu();
        let started = Instant::now();
        for _ in 0..args.timing_passes {
            for q in &queries {
                let t = Instant::now();
                std::hint::black_box(
                    index.suggest_answers_with(&q.q, &access, &synonyms, thresholds, marks)?,
                );
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        let wall = started.elapsed().as_secs_f64() * 1e3;
        let cpu = (bench::process_cpu() - cpu).as_secs_f64() * 1e3;
        times.sort_by(f64::total_cmp);
        let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!(
            "timing ({label}): {} passes × {} questions, warm: mean {:.3} ms (CPU {:.3} ms), p50 {:.3} ms, p99 {:.3} ms",
            args.timing_passes,
            queries.len(),
            wall / times.len() as f64,
            cpu / times.len() as f64,
            at(0.5),
            at(0.99)
        );
    }
    println!("{}", ours.line());
    Ok(())
}

/// The baseline: one field, NFKC + lower case, overlapping character bigrams.
struct Baseline {
    index: tantivy::Index,
    text: tantivy::schema::Field,
    id: tantivy::schema::Field,
}

#[derive(Clone)]
struct Bigrams;

struct BigramStream {
    tokens: Vec<Token>,
    i: usize,
}

impl TokenStream for BigramStream {
    fn advance(&mut self) -> bool {
        self.i += 1;
        self.i <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.i - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.i - 1]
    }
}

fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text
        .nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect();
    if chars.len() == 1 {
        return vec![chars[0].to_string()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

impl Tokenizer for Bigrams {
    type TokenStream<'a> = BigramStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> BigramStream {
        let tokens = bigrams(text)
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect();
        BigramStream { tokens, i: 0 }
    }
}

impl Baseline {
    fn build(faqs: &[Faq]) -> anyhow::Result<Self> {
        let mut b = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer("bigram")
            .set_index_option(IndexRecordOption::WithFreqs);
        let text = b.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(indexing),
        );
        let id = b.add_text_field("id", STRING | STORED);
        let index = tantivy::Index::create_in_ram(b.build());
        index.tokenizers().register("bigram", Bigrams);
        let mut w: tantivy::IndexWriter = index.writer(20_000_000)?;
        for f in faqs {
            let mut d = tantivy::TantivyDocument::new();
            d.add_text(
                text,
                format!("{}\n{}\n{}", f.question, f.keywords.join(" "), f.answer),
            );
            d.add_text(id, &f.id);
            w.add_document(d)?;
        }
        w.commit()?;
        Ok(Self { index, text, id })
    }

    fn search(&self, q: &str) -> anyhow::Result<Vec<String>> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = bigrams(q)
            .into_iter()
            .map(|b| {
                let t = tantivy::Term::from_field_text(self.text, &b);
                (
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Box<dyn Query>,
                )
            })
            .collect();
        let searcher = self.index.reader()?.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(10).order_by_score(),
        )?;
        top.into_iter()
            .map(|(_, addr)| {
                let d: tantivy::TantivyDocument = searcher.doc(addr)?;
                Ok(d.get_first(self.id)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned())
            })
            .collect()
    }
}
