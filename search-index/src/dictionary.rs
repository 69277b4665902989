//! The morphological dictionary: IPADIC compiled at build time (see `build.rs`)
//! plus the IT-vocabulary user lexicon in `dict/user.csv`, loaded once per
//! process (≈0.2 s) and shared by every thread.

use std::{cell::RefCell, sync::OnceLock};

use vibrato::{Dictionary, Tokenizer, tokenizer::worker::Worker};

static COMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ipadic.dic.zst"));

/// Words the 2007 dictionary lacks or splits badly, in normalised form
/// (NFKC, lower case). MeCab CSV: surface, left id, right id, cost, features.
pub const USER_LEXICON: &str = include_str!("../dict/user.csv");

static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();

fn load() -> Tokenizer {
    let started = std::time::Instant::now();
    let dict = zstd::Decoder::new(COMPILED)
        .map_err(vibrato::errors::VibratoError::from)
        .and_then(Dictionary::read)
        .and_then(|d| d.reset_user_lexicon_from_reader(Some(USER_LEXICON.as_bytes())));
    let dict = match dict {
        Ok(dict) => dict,
        // Both inputs are compiled into the binary and covered by tests: a
        // failure here is a broken build, not something to recover from.
        Err(e) => panic!("the embedded IPADIC dictionary does not load: {e}"),
    };
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dictionary loaded"
    );
    Tokenizer::new(dict)
}

/// The process-wide tokenizer, loading the dictionary on first use.
pub fn tokenizer() -> &'static Tokenizer {
    TOKENIZER.get_or_init(load)
}

thread_local! {
    static WORKER: RefCell<Option<Worker<'static>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's tokenizer worker (its lattice is reused).
pub fn with_worker<R>(f: impl FnOnce(&mut Worker<'static>) -> R) -> R {
    WORKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let worker = slot.get_or_insert_with(|| tokenizer().new_worker());
        f(worker)
    })
}
