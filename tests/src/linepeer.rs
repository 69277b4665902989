//! The LINE platform for tests: `tests/line/line_peer.py`, built on LINE's official SDK,
//! started on loopback. It builds and signs webhooks with the SDK's models and validates our
//! reply and push bodies with the SDK's request models.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use entity::mail_outbound;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::TestApp;

/// A running fake LINE platform (killed on drop).
pub struct LinePeer {
    pub base: String,
    child: Child,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for LinePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a Python peer under `tests/` that writes its port to `--port-file`; returns the
/// child, the port and the temp dir holding the port file.
pub(crate) async fn spawn_peer(
    script: &str,
    args: &[&str],
) -> anyhow::Result<(Child, u16, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let port_file = dir.path().join("port");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let mut child = Command::new("python3")
        .arg(&path)
        .arg("--port-file")
        .arg(&port_file)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "python3 {} (its PyPI packages are installed by tests/run.sh)",
                path.display()
            )
        })?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            break p.trim().parse::<u16>()?;
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("{script} exited with {status} before listening");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{script} did not start within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Ok((child, port, dir))
}

impl LinePeer {
    /// Starts the platform; it accepts `token` as the channel access token.
    pub async fn start(token: &str) -> anyhow::Result<Self> {
        let (child, port, dir) = spawn_peer("line/line_peer.py", &["--token", token]).await?;
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
            http: reqwest::Client::new(),
            _dir: dir,
        })
    }

    /// Builds a webhook body from event specs with the SDK and signs it with `secret`;
    /// `raw` events (types the SDK has no model for) are appended as they are.
    pub async fn webhook(
        &self,
        secret: &str,
        events: Value,
        raw: &[Value],
    ) -> anyhow::Result<(String, String)> {
        let raw: Vec<String> = raw.iter().map(Value::to_string).collect();
        let r: Value = self
            .http
            .post(format!("{}/__webhook", self.base))
            .json(&json!({ "secret": secret, "events": events, "raw": raw }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok((
            r["body"].as_str().context("body")?.to_owned(),
            r["signature"].as_str().context("signature")?.to_owned(),
        ))
    }

    /// Changes behaviour (`expire_reply_tokens`, `fail_push`, `delay_ms`, and
    /// `slow_reply_tokens`: milliseconds to hold the reply call of each token named).
    pub async fn configure(&self, cfg: Value) -> anyhow::Result<()> {
        self.http
            .post(format!("{}/__config", self.base))
            .json(&cfg)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Every Messaging API call so far: `path`, `body`, `retryKey`, `status`, `at`.
    pub async fn requests(&self) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .http
            .get(format!("{}/__requests", self.base))
            .send()
            .await?
            .json()
            .await?)
    }

    /// Waits until `pred` holds for the calls (at most `secs` seconds) and returns them.
    pub async fn wait_until(
        &self,
        secs: u64,
        pred: impl Fn(&[Value]) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let r = self.requests().await?;
            if pred(&r) {
                return Ok(r);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "LINE peer: condition not met; calls so far: {r:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The calls accepted (status 200) whose messages were sent to `to` (push) or that replied
/// to one of `reply_tokens`.
pub fn delivered<'a>(calls: &'a [Value], to: &str, reply_tokens: &[&str]) -> Vec<&'a Value> {
    calls
        .iter()
        .filter(|c| c["status"] == 200)
        .filter(|c| {
            c["body"]["to"] == to || reply_tokens.iter().any(|t| c["body"]["replyToken"] == *t)
        })
        .collect()
}

/// One LINE user talking to the bot of `tenant` through the running app.
pub struct Chat<'a> {
    pub app: &'a TestApp,
    pub peer: &'a LinePeer,
    pub secret: &'a str,
    pub tenant: &'a str,
    pub user: String,
    pub n: usize,
}

impl Chat<'_> {
    pub fn url(&self) -> String {
        format!("{}/bots/line/{}", self.app.address, self.tenant)
    }

    pub async fn post(&self, body: &str, signature: &str) -> reqwest::Response {
        self.app
            .client
            .post(self.url())
            .header("content-type", "application/json")
            .header("x-line-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Sends one event spec and returns the LINE calls that answered it (by reply token or
    /// by push to the user).
    pub async fn send(&mut self, mut spec: Value) -> Vec<Value> {
        self.n += 1;
        let token = format!("rt-{}-{}", self.user, self.n);
        spec["userId"] = json!(self.user);
        spec["webhookEventId"] = json!(format!("ev-{}-{}", self.user, self.n));
        spec["replyToken"] = json!(token);
        let before = self.peer.requests().await.unwrap().len();
        let (body, sig) = self
            .peer
            .webhook(self.secret, json!([spec]), &[])
            .await
            .unwrap();
        let res = self.post(&body, &sig).await;
        assert_eq!(res.status(), 200);
        let user = self.user.clone();
        let calls = self
            .peer
            .wait_until(15, |c| {
                !delivered(&c[before.min(c.len())..], &user, &[&token]).is_empty()
            })
            .await
            .unwrap();
        delivered(&calls[before..], &self.user, &[&token])
            .into_iter()
            .cloned()
            .collect()
    }

    pub async fn say(&mut self, text: &str) -> Vec<Value> {
        self.send(json!({ "type": "text", "text": text })).await
    }

    pub async fn press(&mut self, data: &str) -> Vec<Value> {
        self.send(json!({ "type": "postback", "data": data })).await
    }
}

/// Every message of the calls.
pub fn messages(calls: &[Value]) -> Vec<Value> {
    calls
        .iter()
        .flat_map(|c| {
            c["body"]["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// All text people would read in the calls (text messages, Flex texts, alt texts).
pub fn text_of(calls: &[Value]) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                for k in ["text", "altText"] {
                    if let Some(s) = m.get(k).and_then(Value::as_str) {
                        out.push_str(s);
                        out.push('\n');
                    }
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut s = String::new();
    walk(&json!(messages(calls)), &mut s);
    s
}

/// Every postback `data` offered in the calls.
pub fn postbacks(calls: &[Value]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if m.get("type").and_then(Value::as_str) == Some("postback")
                    && let Some(d) = m.get("data").and_then(Value::as_str)
                {
                    out.push(d.to_owned());
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    walk(&json!(messages(calls)), &mut out);
    out
}

/// The latest code of `kind` (`link_code`, `reset_code`) mailed to `to` (still queued: no
/// SMTP server in these tests).
pub async fn mailed_code(app: &TestApp, to: &str, kind: &str) -> String {
    let m = mail_outbound::Entity::find()
        .filter(mail_outbound::Column::ToAddress.eq(to))
        .filter(mail_outbound::Column::Kind.eq(kind))
        .order_by_desc(mail_outbound::Column::CreatedAt)
        .one(&app.db.read)
        .await
        .unwrap()
        .expect("a code mail is queued");
    let i = m.body.find("確認コード: ").expect("code line") + "確認コード: ".len();
    m.body[i..i + 6].to_owned()
}

/// LINE WORKS for tests: `tests/lineworks/works_peer.py` (its token endpoint checks our
/// service-account JWT; its message API checks and records our messages).
pub struct WorksPeer {
    pub base: String,
    /// The private key the bot signs its JWT with (made by the peer).
    pub key_pem: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for WorksPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WorksPeer {
    pub async fn start(
        client_id: &str,
        client_secret: &str,
        service_account: &str,
    ) -> anyhow::Result<Self> {
        let keys = tempfile::tempdir()?;
        let key_pem = keys.path().join("private.pem");
        let key_arg = key_pem.display().to_string();
        let (child, port, _ports) = spawn_peer(
            "lineworks/works_peer.py",
            &[
                "--key-out",
                &key_arg,
                "--client-id",
                client_id,
                "--client-secret",
                client_secret,
                "--service-account",
                service_account,
            ],
        )
        .await?;
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            key_pem,
            child,
            _dir: keys,
        })
    }

    /// Messages received (`bot`, `kind` users/channels, `to`, `content`) and tokens issued.
    pub async fn messages(&self) -> anyhow::Result<(Vec<Value>, u64)> {
        let v: Value = reqwest::get(format!("{}/__requests", self.base))
            .await?
            .json()
            .await?;
        Ok((
            v["messages"].as_array().cloned().unwrap_or_default(),
            v["issued"].as_u64().unwrap_or(0),
        ))
    }

    /// Waits until at least `n` messages arrived (at most `secs`).
    pub async fn wait_for(&self, n: usize, secs: u64) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (m, _) = self.messages().await?;
            if m.len() >= n {
                return Ok(m);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "LINE WORKS peer: {} of {n} messages: {m:#?}",
                m.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
