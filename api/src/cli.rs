//! The `madoguchi` command line.

use crate::auth::{Claims, issue, resolve_hs256_secret};
use crate::config::Config;
use crate::server::{Application, connect};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use service::directory;
use std::path::PathBuf;

/// Madoguchi (窓口): the helpdesk backend for municipal and school-board IT desks.
#[derive(Parser, Debug)]
#[command(name = "madoguchi", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (default: ./madoguchi.toml if present).
    #[arg(long, global = true, env = "MADOGUCHI_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by commands that touch the data.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Data directory (SQLite file, JWT secret, index). Default: ./data
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the server: GraphQL at /graphql (GraphiQL in a browser), WebSocket at /graphql/ws.
    Serve {
        /// Address to listen on. Default: 127.0.0.1:8080
        #[arg(long)]
        listen: Option<String>,
        #[command(flatten)]
        data: DataArgs,
        /// Load the Japanese demo tenants on first start (when the database has none).
        #[arg(long)]
        demo: bool,
    },
    /// Applies pending database migrations (serve does this too).
    Migrate {
        #[command(flatten)]
        data: DataArgs,
        /// Only print which migrations are applied and pending.
        #[arg(long)]
        status: bool,
    },
    /// Prints the GraphQL schema (SDL); `schema.graphql` in the repository is this output.
    Schema,
    /// Bearer tokens for trying the API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// Token subcommands.
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Prints a signed token carrying a person's roles.
    Issue {
        /// Tenant slug, e.g. sakura-city.
        #[arg(long)]
        tenant: String,
        /// The person's mail address.
        #[arg(long)]
        person: String,
        /// Lifetime in minutes (default from config: 480).
        #[arg(long)]
        ttl_minutes: Option<i64>,
        #[command(flatten)]
        data: DataArgs,
    },
}

fn load(config: Option<&PathBuf>, data: &DataArgs) -> anyhow::Result<Config> {
    let mut cfg =
        Config::load(config.map(PathBuf::as_path)).context("cannot read configuration")?;
    if let Some(d) = &data.data_dir {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, data, demo } => {
            let mut cfg = load(cli.config.as_ref(), &data)?;
            crate::telemetry::init(cfg.log_json);
            if let Some(l) = listen {
                cfg.listen = l;
            }
            let app = Application::build(cfg.clone(), demo).await?;
            tracing::info!(listen = %cfg.listen, port = app.port(), "madoguchi is serving; GraphiQL at /graphql");
            app.run_until_stopped().await
        }
        Command::Migrate { data, status } => {
            let cfg = load(cli.config.as_ref(), &data)?;
            let db = connect(&cfg).await?;
            if status {
                for m in Migrator::get_migration_with_status(&db.write).await? {
                    println!("{}\t{:?}", m.name(), m.status());
                }
            } else {
                Migrator::up(&db.write, None).await?;
                println!("migrations applied");
            }
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    tenant,
                    person,
                    ttl_minutes,
                    data,
                },
        } => {
            let cfg = load(cli.config.as_ref(), &data)?;
            let db = connect(&cfg).await?;
            Migrator::up(&db.write, None).await?;
            let Some(t) = directory::tenant_by_slug(&db.read, &tenant).await? else {
                bail!("no tenant with slug {tenant:?}");
            };
            let Some(p) = directory::person_by_email(&db.read, t.id, &person).await? else {
                bail!("no person with mail address {person:?} in {tenant}");
            };
            let roles = directory::roles_of(&p);
            let now = chrono::Utc::now().timestamp();
            let claims = Claims {
                sub: p.id.to_string(),
                tenant: t.slug.clone(),
                roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
                iss: cfg.auth.issuer.clone(),
                aud: cfg.auth.audience.clone(),
                exp: now + 60 * ttl_minutes.unwrap_or(cfg.auth.token_ttl_minutes),
                nbf: Some(now - 5),
                iat: Some(now),
                name: Some(p.display_name.clone()),
            };
            let secret = resolve_hs256_secret(&cfg.auth, &cfg.data_dir)?;
            println!("{}", issue(&cfg.auth, &secret, &claims)?);
            Ok(())
        }
    }
}
