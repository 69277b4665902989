//! A throwaway PostgreSQL cluster for tests: `initdb` into a temp dir, `postgres` on a Unix
//! socket there, removed when the test process exits (a watchdog shell stops it even if the
//! process is killed). Set `MADOGUCHI_TEST_PG_URL` to use an existing server instead.

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tokio::sync::Mutex;

/// A running cluster: the admin URL and the socket directory.
pub struct Cluster {
    admin_url: String,
}

fn pg_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (apt-get install postgresql)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn as_pg_user(bin: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Cluster {
    fn start() -> anyhow::Result<Self> {
        let bin = pg_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "madoguchi-pg-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()?;
            if !st.success() {
                bail!("chown of {} failed", dir.display());
            }
        }
        let data = dir.join("data");
        let data_s = data.to_string_lossy().to_string();
        let out = as_pg_user(
            &bin.join("initdb"),
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        .output()
        .context("cannot run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let port = free_port()?;
        let dir_s = dir.to_string_lossy().to_string();
        // The watchdog starts postgres, waits for this test process to go away, then stops
        // the cluster and removes its directory.
        let script = format!(
            r#"{pg} -D '{data}' -k '{dir}' -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 > '{dir}/log' 2>&1 &
pg=$!
while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 1; done
kill -INT $pg 2>/dev/null; wait $pg; rm -rf '{dir}'"#,
            pg = bin.join("postgres").display(),
            data = data_s,
            dir = dir_s,
            port = port,
            parent = std::process::id(),
        );
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.spawn().context("cannot start postgres")?;
        let socket = dir.join(format!(".s.PGSQL.{port}"));
        for _ in 0..200 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !socket.exists() {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            bail!("postgres did not start: {log}");
        }
        Ok(Self {
            admin_url: format!("postgres://postgres@localhost:{port}/postgres?host={dir_s}"),
        })
    }

    fn url_for(&self, db: &str) -> String {
        self.admin_url.replacen("/postgres?", &format!("/{db}?"), 1)
    }
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static CREATE_LOCK: Mutex<()> = Mutex::const_new(());

/// Returns the URL of a fresh, empty database in the shared test cluster.
pub async fn fresh_database() -> anyhow::Result<String> {
    let admin = match std::env::var("MADOGUCHI_TEST_PG_URL") {
        Ok(url) => url,
        Err(_) => {
            let c = CLUSTER.get_or_init(|| Cluster::start().map_err(|e| format!("{e:#}")));
            match c {
                Ok(c) => c.admin_url.clone(),
                Err(e) => bail!("cannot start a test PostgreSQL: {e}"),
            }
        }
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    {
        let _guard = CREATE_LOCK.lock().await;
        let conn = Database::connect(&admin).await?;
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        conn.close().await?;
    }
    Ok(match CLUSTER.get() {
        Some(Ok(c)) => c.url_for(&name),
        _ => {
            let (base, query) = admin
                .split_once('?')
                .map_or((admin.as_str(), ""), |(b, q)| (b, q));
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            if query.is_empty() {
                format!("{base}/{name}")
            } else {
                format!("{base}/{name}?{query}")
            }
        }
    })
}
