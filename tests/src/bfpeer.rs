//! The Bot Framework for tests: `tests/teams/bf_peer.py` on loopback. It serves OpenID
//! metadata and a JWKS, mints tokens with its own RSA keys, issues client-credentials tokens,
//! and takes our replies on the connector API, parsing them with Microsoft's
//! `botbuilder-schema`.

use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::linepeer::spawn_peer;

/// A running fake Bot Framework (killed on drop).
pub struct BotFramework {
    pub base: String,
    child: Child,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for BotFramework {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BotFramework {
    pub async fn start(app_id: &str, app_password: &str) -> anyhow::Result<Self> {
        let (child, port, dir) = spawn_peer(
            "teams/bf_peer.py",
            &["--app-id", app_id, "--app-password", app_password],
        )
        .await?;
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
            http: reqwest::Client::new(),
            _dir: dir,
        })
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/v1/.well-known/openidconfiguration", self.base)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/botframework.com/oauth2/v2.0/token", self.base)
    }

    async fn control(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        Ok(self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// A token as the Bot Framework signs it; `spec` overrides `iss`, `aud`, `kid`, `exp_in`,
    /// `nbf_in`, `serviceurl`, or drops it with `drop_serviceurl`.
    pub async fn token(&self, spec: Value) -> anyhow::Result<String> {
        Ok(self.control("/__token", spec).await?["token"]
            .as_str()
            .context("token")?
            .to_owned())
    }

    /// An incoming activity built with botbuilder-schema.
    pub async fn activity(&self, spec: Value) -> anyhow::Result<Value> {
        self.control("/__activity", spec).await
    }

    /// Sets `throttle` (429s to answer) or `members` (profiles by user id).
    pub async fn configure(&self, cfg: Value) -> anyhow::Result<()> {
        self.control("/__config", cfg).await.map(|_| ())
    }

    /// The connector calls so far, and how many access tokens were issued.
    pub async fn requests(&self) -> anyhow::Result<(Vec<Value>, u64)> {
        let v: Value = self
            .http
            .get(format!("{}/__requests", self.base))
            .send()
            .await?
            .json()
            .await?;
        Ok((
            v["requests"].as_array().cloned().unwrap_or_default(),
            v["tokensIssued"].as_u64().unwrap_or(0),
        ))
    }

    /// The Microsoft Graph password changes received: `user`, `force`, `password`.
    pub async fn graph_calls(&self) -> anyhow::Result<Vec<Value>> {
        let v: Value = self
            .http
            .get(format!("{}/__requests", self.base))
            .send()
            .await?
            .json()
            .await?;
        Ok(v["graphCalls"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until `pred` holds for the connector calls (at most `secs`).
    pub async fn wait_until(
        &self,
        secs: u64,
        pred: impl Fn(&[Value]) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (r, _) = self.requests().await?;
            if pred(&r) {
                return Ok(r);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "Bot Framework peer: condition not met; calls: {r:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
