//! Real mail servers for the tests, on loopback, each in a temp dir and stopped when the test
//! process exits (a watchdog shell, as for PostgreSQL):
//!
//! - [`Dovecot`]: Dovecot's IMAP server (apt `dovecot-imapd`) with IMAPS and STARTTLS,
//!   certificates from a throwaway CA made with `openssl`, one user `helpdesk`.
//! - [`SmtpSink`]: an SMTP server from `aiosmtpd` (PyPI) that writes what it accepts to a
//!   folder (`tests/mail/smtp_sink.py`).

use anyhow::{Context, bail};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A throwaway CA and a server certificate for `localhost` / 127.0.0.1 signed by it.
pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certs {
    pub fn make(dir: &Path) -> anyhow::Result<Self> {
        let ext = dir.join("ext.cnf");
        std::fs::write(
            &ext,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )?;
        let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args([
                "-keyout",
                &p("ca.key"),
                "-out",
                &p("ca.pem"),
                "-days",
                "2",
                "-subj",
                "/CN=Madoguchi Test CA",
            ]))?;
        run(Command::new("openssl").arg("req").args(ec).args([
            "-keyout",
            &p("key.pem"),
            "-out",
            &p("s.csr"),
            "-subj",
            "/CN=localhost",
        ]))?;
        run(Command::new("openssl").args([
            "x509",
            "-req",
            "-in",
            &p("s.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-out",
            &p("cert.pem"),
            "-days",
            "2",
            "-extfile",
            &p("ext.cnf"),
        ]))?;
        Ok(Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        })
    }
}

/// Starts `script` under `sh` with a watchdog: when this test process is gone, the server is
/// killed and `dir` removed.
fn spawn_watched(server: &str, dir: &Path) -> anyhow::Result<()> {
    let script = format!(
        "{server} &\nsrv=$!\nwhile [ -d /proc/{parent} ] && kill -0 $srv 2>/dev/null; do sleep 1; done\nkill $srv 2>/dev/null; wait $srv; rm -rf '{dir}'",
        parent = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the watchdog")?;
    Ok(())
}

async fn wait_for_port(port: u16, what: &str, log: &Path) -> anyhow::Result<()> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "{what} did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    )
}

/// A running Dovecot.
pub struct Dovecot {
    pub imap_port: u16,
    pub imaps_port: u16,
    pub user: String,
    pub password: String,
    pub ca: PathBuf,
    dir: PathBuf,
    _keep: TempDir,
}

impl Dovecot {
    pub async fn start() -> anyhow::Result<Self> {
        let Some(bin) = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        else {
            bail!("Dovecot is not installed (apt-get install dovecot-imapd)");
        };
        let keep = tempfile::Builder::new()
            .prefix("madoguchi-dovecot-")
            .tempdir()?;
        let dir = keep.path().to_path_buf();
        let certs = Certs::make(&dir)?;
        std::fs::create_dir_all(dir.join("home"))?;
        std::fs::write(dir.join("users"), "helpdesk:{PLAIN}imap-test-pw\n")?;
        // Dovecot never reads mail as root: the `mail` user owns the mailboxes.
        let (uid, gid) = if is_root() {
            run(Command::new("chown")
                .args(["-R", "mail:mail"])
                .arg(dir.join("home")))?;
            ("mail".to_owned(), "mail".to_owned())
        } else {
            let id = |f: &str| {
                Command::new("id")
                    .arg(f)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            };
            (id("-u")?, id("-g")?)
        };
        let (imap_port, imaps_port) = (free_port()?, free_port()?);
        let d = dir.display();
        let conf = format!(
            r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
protocol imap {{
  mail_max_userip_connections = 50
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"#,
            cert = certs.cert.display(),
            key = certs.key.display(),
        );
        let conf_path = dir.join("dovecot.conf");
        std::fs::write(&conf_path, conf)?;
        spawn_watched(
            &format!("{} -F -c '{}'", bin.display(), conf_path.display()),
            &dir,
        )?;
        wait_for_port(imaps_port, "dovecot", &dir.join("dovecot.log")).await?;
        wait_for_port(imap_port, "dovecot", &dir.join("dovecot.log")).await?;
        Ok(Self {
            imap_port,
            imaps_port,
            user: "helpdesk".into(),
            password: "imap-test-pw".into(),
            ca: certs.ca,
            dir,
            _keep: keep,
        })
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }
}

/// A running aiosmtpd sink.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    pid: u32,
    _keep: TempDir,
}

impl SmtpSink {
    /// `fail_first`: how many messages to refuse with 451 before accepting.
    pub async fn start(fail_first: u32) -> anyhow::Result<Self> {
        Self::start_on(free_port()?, fail_first).await
    }

    /// Starts on a given port (to bring a sink back where the server expects it).
    pub async fn start_on(port: u16, fail_first: u32) -> anyhow::Result<Self> {
        Ok(Self::spawn(port, fail_first, None).await?.0)
    }

    /// A sink that requires STARTTLS (or, with `smtps`, speaks TLS from the first byte) with
    /// a certificate from a throwaway CA; returns the CA file to trust.
    pub async fn start_tls(smtps: bool) -> anyhow::Result<(Self, PathBuf)> {
        let (sink, ca) = Self::spawn(free_port()?, 0, Some(smtps)).await?;
        Ok((sink, ca.context("CA")?))
    }

    async fn spawn(
        port: u16,
        fail_first: u32,
        tls: Option<bool>,
    ) -> anyhow::Result<(Self, Option<PathBuf>)> {
        let keep = tempfile::Builder::new()
            .prefix("madoguchi-smtp-")
            .tempdir()?;
        let dir = keep.path().to_path_buf();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mail/smtp_sink.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&script);
        let mut ca = None;
        if let Some(smtps) = tls {
            let certs_dir = dir.join("tls");
            std::fs::create_dir_all(&certs_dir)?;
            let certs = Certs::make(&certs_dir)?;
            cmd.arg("--cert")
                .arg(&certs.cert)
                .arg("--key")
                .arg(&certs.key);
            if smtps {
                cmd.arg("--smtps");
            }
            ca = Some(certs.ca);
        }
        let mut child = cmd
            .args(["--port", &port.to_string(), "--dir"])
            .arg(&dir)
            .args(["--fail-first", &fail_first.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(dir.join("sink.log"))?))
            .spawn()
            .context("starting python3 tests/mail/smtp_sink.py (pip install aiosmtpd)")?;
        let stdout = child.stdout.take().context("sink stdout")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut l = String::new();
            std::io::BufReader::new(stdout).read_line(&mut l).map(|_| l)
        })
        .await??;
        if !line.starts_with("ready") {
            let _ = child.kill();
            bail!("the SMTP sink did not start (is aiosmtpd installed?)");
        }
        let pid = child.id();
        // The sink exits when this process does; the handle is dropped without waiting.
        std::mem::forget(child);
        Ok((
            Self {
                port,
                dir,
                pid,
                _keep: keep,
            },
            ca,
        ))
    }

    /// Stops the server (the port refuses connections afterwards).
    pub async fn stop(&self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Messages accepted so far, in order: raw bytes and the envelope's recipients.
    pub fn received(&self) -> Vec<(Vec<u8>, Vec<String>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .into_iter()
            .filter_map(|p| {
                let raw = std::fs::read(&p).ok()?;
                let env: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p.with_extension("json")).ok()?).ok()?;
                let rcpts = env["rcpt_tos"]
                    .as_array()?
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                Some((raw, rcpts))
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most `secs` seconds).
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<(Vec<u8>, Vec<String>)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
