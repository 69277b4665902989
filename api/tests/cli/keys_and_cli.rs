//! RS256/ES256 from PEM and JWKS, and the `madoguchi` binary itself: help, schema, tokens,
//! a demo server answering, and a graceful stop on SIGTERM.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::auth::{Claims, Verifier, issue};
use api::config::{AuthConfig, JwtAlgorithm, Secret};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common::madoguchi;

fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

fn claims() -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: "0193a000-0000-7000-8000-000000000001".into(),
        tenant: "sakura-city".into(),
        roles: vec!["agent".into()],
        iss: "madoguchi".into(),
        aud: "madoguchi-api".into(),
        exp: now + 600,
        nbf: Some(now - 5),
        iat: Some(now),
        name: None,
    }
}

fn cfg(alg: JwtAlgorithm, public: &str, private: &str) -> AuthConfig {
    AuthConfig {
        algorithm: alg,
        public_key_pem: Some(key(public)),
        private_key_pem: Some(key(private)),
        ..AuthConfig::default()
    }
}

#[test]
fn rs256_and_es256_tokens_verify_against_their_pem_keys() {
    for (alg, public, private) in [
        (JwtAlgorithm::RS256, "rs256-public.pem", "rs256-private.pem"),
        (JwtAlgorithm::ES256, "es256-public.pem", "es256-private.pem"),
    ] {
        let c = cfg(alg, public, private);
        let token = issue(&c, &Secret::default(), &claims()).unwrap();
        let v = Verifier::new(&c, &Secret::default()).unwrap();
        assert_eq!(v.verify(&token).unwrap().sub, claims().sub, "{alg:?}");
    }
}

#[test]
fn an_hs256_token_signed_with_the_public_key_is_refused() {
    // The classic algorithm-confusion attack: HMAC keyed with the server's public key.
    let c = cfg(JwtAlgorithm::RS256, "rs256-public.pem", "rs256-private.pem");
    let public = std::fs::read_to_string(key("rs256-public.pem")).unwrap();
    let hs = AuthConfig::default();
    let forged = issue(&hs, &Secret::new(public), &claims()).unwrap();
    let v = Verifier::new(&c, &Secret::default()).unwrap();
    assert!(v.verify(&forged).is_err());
}

#[test]
fn jwks_keys_are_chosen_by_kid_and_the_configured_algorithm_is_enforced() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let jwks = AuthConfig {
        algorithm: JwtAlgorithm::RS256,
        jwks_file: Some(key("jwks.json")),
        ..AuthConfig::default()
    };
    let v = Verifier::new(&jwks, &Secret::default()).unwrap();
    let rsa = EncodingKey::from_rsa_pem(&std::fs::read(key("rs256-private.pem")).unwrap()).unwrap();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("rs-1".into());
    assert!(v.verify(&encode(&h, &claims(), &rsa).unwrap()).is_ok());
    h.kid = Some("unknown".into());
    assert!(v.verify(&encode(&h, &claims(), &rsa).unwrap()).is_err());
    let ec = EncodingKey::from_ec_pem(&std::fs::read(key("es256-private.pem")).unwrap()).unwrap();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("es-1".into());
    assert!(
        v.verify(&encode(&h, &claims(), &ec).unwrap()).is_err(),
        "ES256 is not the configured algorithm"
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["schema", "--help"],
        vec!["token", "issue", "--help"],
    ] {
        let out = madoguchi().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn schema_command_prints_the_contract() {
    let out = madoguchi().arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), api::graphql::sdl());
}

#[test]
fn token_issue_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = madoguchi()
        .args([
            "token",
            "issue",
            "--tenant",
            "nowhere",
            "--person",
            "x@example.jp",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant with slug \"nowhere\""));
}

#[test]
fn demo_server_answers_a_token_from_the_cli_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // The listen address comes from the TOML file, JSON logging from the environment.
    let config = dir.path().join("madoguchi.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nsla_check_seconds = 5\n").unwrap();
    let mut child = madoguchi()
        .args(["serve", "--demo", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .env("MADOGUCHI_LOG_JSON", "true")
        .env("MADOGUCHI_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("server logs its port").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(p) = v["port"].as_u64() {
            break p;
        }
    };
    let token = madoguchi()
        .args([
            "token",
            "issue",
            "--tenant",
            "sakura-city",
            "--person",
            "suzuki.hd@city.sakura.example.jp",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"query": "{ viewer { person { displayName } tenant { slug } } tickets(first: 1) { totalCount } }"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        body["data"]["viewer"]["tenant"]["slug"], "sakura-city",
        "{body}"
    );
    assert!(
        body["data"]["tickets"]["totalCount"].as_u64().unwrap() > 100,
        "{body}"
    );

    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed().as_secs() < 15, "server did not stop");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
}
