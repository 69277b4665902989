//! `schema.graphql` is the published contract: it must equal what the code exports.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn checked_in_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let exported = api::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &exported).expect("write schema.graphql");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == exported,
        "schema.graphql is out of date: run `cargo run -q -- schema > schema.graphql` (or UPDATE_SCHEMA=1 cargo test -p tests --test schema_drift) and review the diff"
    );
}

#[test]
fn every_type_and_field_is_described() {
    // The SDL prints descriptions as block strings; a field with none shows up bare.
    let sdl = api::graphql::sdl();
    let mut missing = Vec::new();
    let mut prev = "";
    let mut in_type = false;
    let mut in_block = false;
    for line in sdl.lines() {
        let t = line.trim();
        if t == "\"\"\"" {
            in_block = !in_block;
            prev = t;
            continue;
        }
        if in_block {
            continue;
        }
        if t.starts_with("type ")
            || t.starts_with("input ")
            || t.starts_with("enum ")
            || t.starts_with("interface ")
        {
            in_type = !t.starts_with("enum ");
            if !prev.ends_with("\"\"\"") && !prev.starts_with('"') {
                missing.push(t.to_owned());
            }
        } else if t == "}" {
            in_type = false;
        } else if in_type
            && !t.is_empty()
            && !t.starts_with('"')
            && line.starts_with('\t')
            && !line.starts_with("\t\t")
            && t.contains(':')
            && !prev.ends_with("\"\"\"")
            && !prev.starts_with('"')
        {
            missing.push(t.to_owned());
        }
        prev = t;
    }
    let missing: Vec<_> = missing
        .into_iter()
        .filter(|m| {
            !m.starts_with("type Query")
                && !m.starts_with("type Mutation")
                && !m.starts_with("type Subscription")
        })
        .collect();
    assert!(missing.is_empty(), "undescribed items: {missing:#?}");
}
