//! Compiles the IPADIC sources in `dict/` (UTF-8, zstd-compressed; see
//! `dict/fetch-ipadic.sh` for where they come from) into a vibrato system
//! dictionary, compressed again, for `include_bytes!`. Nothing is downloaded.

use std::{
    env, fs,
    io::{BufReader, BufWriter},
    path::PathBuf,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dict = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("dict");
    for file in ["lex.csv.zst", "matrix.def.zst", "char.def", "unk.def"] {
        println!("cargo::rerun-if-changed=dict/{file}");
    }
    let open = |name: &str| fs::File::open(dict.join(name)).map(BufReader::new);
    let lexicon = zstd::Decoder::new(open("lex.csv.zst")?)?;
    let matrix = zstd::Decoder::new(open("matrix.def.zst")?)?;
    let compiled = vibrato::SystemDictionaryBuilder::from_readers(
        lexicon,
        matrix,
        open("char.def")?,
        open("unk.def")?,
    )?;
    let out = PathBuf::from(env::var("OUT_DIR")?).join("ipadic.dic.zst");
    let mut encoder = zstd::Encoder::new(BufWriter::new(fs::File::create(&out)?), 3)?;
    compiled.write(&mut encoder)?;
    encoder.finish()?;
    Ok(())
}
