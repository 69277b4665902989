//! Test harness: the whole app on port 0 against SQLite or a throwaway PostgreSQL, a small
//! two-tenant fixture, and a GraphQL client.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bfpeer;
pub mod browser;
pub mod fixture;
pub mod ldappeer;
pub mod linepeer;
pub mod mailpeers;
pub mod pg;

use api::auth::{Claims, issue, resolve_hs256_secret};
use api::config::Config;
use api::server::Application;
use serde_json::{Value, json};
use service::Db;
use tempfile::TempDir;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running app.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub db: Db,
    pub config: Config,
    pub client: reqwest::Client,
    pub fixture: fixture::Fixture,
    /// The server's shared state, for tests that execute GraphQL in process.
    pub state: api::graphql::context::AppState,
    _dir: TempDir,
}

/// Starts the app on a random port with a fresh database and the fixture loaded.
pub async fn spawn_app(backend: Backend) -> TestApp {
    try_spawn_app(backend).await.expect("app starts")
}

/// [`spawn_app`] returning errors instead of panicking.
pub async fn try_spawn_app(backend: Backend) -> anyhow::Result<TestApp> {
    try_spawn_app_with(backend, |_| {}).await
}

/// [`try_spawn_app`] with the configuration adjusted first (mail servers, polling).
pub async fn try_spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        listen: "127.0.0.1:0".to_owned(),
        data_dir: dir.path().to_path_buf(),
        sla_check_seconds: 3600,
        ..Config::default()
    };
    configure(&mut config);
    if backend == Backend::Postgres {
        config.database_url = Some(pg::fresh_database().await?);
    }
    let app = Application::build(config.clone(), false).await?;
    let port = app.port();
    let state = app.state().clone();
    let db = state.db.clone();
    let fixture = fixture::seed(&db).await?;
    tokio::spawn(app.run_until_stopped());
    Ok(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        db,
        config,
        client: reqwest::Client::new(),
        fixture,
        state,
        _dir: dir,
    })
}

/// [`try_spawn_app_with`] on SQLite, with the demo FAQ published in the `city` tenant and
/// indexed (the chat bots' tests).
pub async fn spawn_app_with_faq(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = try_spawn_app_with(backend, |c| {
        c.bots.poll_millis = 100;
        c.search.poll_millis = 20;
        configure(c);
    })
    .await
    .expect("app starts");
    let agent = app.fixture.city.agent_actor();
    let faq = service::faq::parse_jsonl(service::demo::DEMO_FAQ);
    let r = service::faq::import(&app.db.write, &agent, faq, entity::FaqStatus::Published)
        .await
        .unwrap();
    assert!(r.created > 10, "{r:?}");
    for _ in 0..400 {
        if entity::search_outbox::Entity::find()
            .count(&app.db.write)
            .await
            .unwrap()
            == 0
        {
            return app;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the indexer did not catch up with the FAQ within 10 s");
}

impl TestApp {
    /// Signs a token for a person with the given roles (as `madoguchi token issue` does).
    pub fn token(&self, tenant_slug: &str, person: uuid::Uuid, roles: &[&str]) -> String {
        self.token_with(tenant_slug, person, roles, |_| {})
    }

    /// Signs a token, letting the test tamper with the claims first.
    pub fn token_with(
        &self,
        tenant_slug: &str,
        person: uuid::Uuid,
        roles: &[&str],
        tweak: impl FnOnce(&mut Claims),
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = Claims {
            sub: person.to_string(),
            tenant: tenant_slug.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            iss: self.config.auth.issuer.clone(),
            aud: self.config.auth.audience.clone(),
            exp: now + 3600,
            nbf: Some(now - 5),
            iat: Some(now),
            name: None,
        };
        tweak(&mut claims);
        let secret =
            resolve_hs256_secret(&self.config.auth, &self.config.data_dir).expect("secret");
        issue(&self.config.auth, &secret, &claims).expect("token")
    }

    /// Posts a GraphQL request and returns the HTTP status and the JSON body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Posts a GraphQL multipart request (the GraphQL multipart request spec, as Apollo and
    /// urql clients send uploads): `files` are (variable path such as `variables.input.file`,
    /// file name, bytes). Returns the HTTP status and the JSON body.
    pub async fn upload(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        files: &[(&str, &str, &[u8])],
    ) -> (u16, Value) {
        let boundary = format!("----madoguchi{}", uuid::Uuid::now_v7().simple());
        let mut body: Vec<u8> = Vec::new();
        let mut part = |name: &str, filename: Option<&str>, content_type: &str, data: &[u8]| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                    .as_bytes(),
            );
            if let Some(f) = filename {
                body.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
            }
            body.extend_from_slice(format!("\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        };
        let operations = json!({ "query": query, "variables": variables }).to_string();
        part(
            "operations",
            None,
            "application/json",
            operations.as_bytes(),
        );
        let map: serde_json::Map<String, Value> = files
            .iter()
            .enumerate()
            .map(|(i, (path, _, _))| (i.to_string(), json!([path])))
            .collect();
        part(
            "map",
            None,
            "application/json",
            Value::Object(map).to_string().as_bytes(),
        );
        for (i, (_, name, data)) in files.iter().enumerate() {
            part(&i.to_string(), Some(name), "application/octet-stream", data);
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let res = self
            .client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Sends a plain GET to `path` and returns the response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// Posts a GraphQL request expecting HTTP 200 and returns the body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert_eq!(status, 200, "unexpected status; body: {body}");
        body
    }
}

/// Returns the `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// Runs a test body against SQLite and PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::Backend::Postgres).await
            }
        }
    };
}

/// A migrated, seeded database without the HTTP server, for service tests.
pub struct TestDb {
    pub db: Db,
    pub fixture: fixture::Fixture,
    _dir: TempDir,
}

/// Creates a fresh, migrated database on `backend` with the fixture loaded.
pub async fn test_db(backend: Backend) -> TestDb {
    use migration::MigratorTrait;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.sqlite").display()
        ),
        Backend::Postgres => pg::fresh_database().await.expect("postgres"),
    };
    let db = Db::connect(&url, 4).await.expect("connect");
    migration::Migrator::up(&db.write, None)
        .await
        .expect("migrate");
    let fixture = fixture::seed(&db).await.expect("fixture");
    TestDb {
        db,
        fixture,
        _dir: dir,
    }
}

impl fixture::TenantFx {
    /// Returns an actor for one of this tenant's people with the given roles.
    pub fn actor(&self, person: uuid::Uuid, roles: &[service::Role]) -> service::Actor {
        service::Actor {
            person_id: person,
            tenant_id: self.id,
            roles: roles.iter().copied().collect(),
            vendor_id: (person == self.vendor_person).then_some(self.vendor),
        }
    }

    /// The tenant's agent as an actor.
    pub fn agent_actor(&self) -> service::Actor {
        self.actor(self.agent, &[service::Role::Agent])
    }

    /// The tenant's requester as an actor.
    pub fn requester_actor(&self) -> service::Actor {
        self.actor(self.requester, &[service::Role::Requester])
    }
}

/// Returns the opaque global ID the API uses for `ty` and `id` (clients never build these;
/// tests do, to reach objects they created through the service).
pub fn gid(ty: &str, id: uuid::Uuid) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{ty}:{}", id.simple()))
}

/// Every log line of this test process, captured at debug level (for checks that no secret
/// is ever logged). The first call installs the capture; later calls share it.
pub fn captured_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink(Arc::clone(&buf));
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,sqlx=warn,hyper=info,h2=info,rustls=info,reqwest=info,ldap3=debug",
            ))
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}
