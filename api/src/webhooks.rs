//! The chat platforms' webhooks: verified (LINE: the signature on the raw body; Teams: the
//! Bot Framework's bearer token), stored as jobs, answered at once. The work happens in
//! `bots::chat::Worker`. The Teams outgoing webhook is the exception: it answers FAQ questions
//! in the HTTP response itself, as Teams expects.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bots::chat::Intake;
use bots::chat::line::{self, LineConfig, WebhookError};
use bots::chat::teams::{self, BotAuth, TeamsConfig};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use uuid::Uuid;

/// The configured chat channels, the intake their events go to, and tenants by slug (looked up
/// on first use: a channel may be configured before its tenant is created).
#[derive(Clone)]
pub struct ChatHooks {
    line: Arc<HashMap<String, LineConfig>>,
    /// LINE WORKS bot secrets by tenant slug.
    line_works: Arc<HashMap<String, service::Secret>>,
    teams: Option<Arc<(TeamsConfig, BotAuth)>>,
    tenants: Arc<RwLock<HashMap<String, Uuid>>>,
    db: DatabaseConnection,
    search: Arc<service::search::Search>,
    intake: Intake,
}

impl ChatHooks {
    /// The LINE channel of a tenant.
    pub(crate) fn line_channel(&self, slug: &str) -> Option<&LineConfig> {
        self.line.get(slug)
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn new(
        line: &[LineConfig],
        line_works: &[bots::chat::lineworks::LineWorksConfig],
        teams: Option<&TeamsConfig>,
        db: DatabaseConnection,
        search: Arc<service::search::Search>,
        intake: Intake,
    ) -> anyhow::Result<Self> {
        let line = line.iter().map(|c| (c.tenant.clone(), c.clone())).collect();
        let teams = teams
            .map(|c| Ok::<_, anyhow::Error>(Arc::new((c.clone(), BotAuth::new(c)?))))
            .transpose()?;
        let line_works = line_works
            .iter()
            .map(|c| (c.tenant.clone(), c.bot_secret.clone()))
            .collect();
        Ok(Self {
            line: Arc::new(line),
            line_works: Arc::new(line_works),
            teams,
            tenants: Arc::default(),
            db,
            search,
            intake,
        })
    }

    pub(crate) async fn tenant_id(&self, slug: &str) -> Option<Uuid> {
        if let Some(id) = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(slug)
        {
            return Some(*id);
        }
        let id = service::directory::tenant_by_slug(&self.db, slug)
            .await
            .ok()??
            .id;
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(slug.to_owned(), id);
        Some(id)
    }

    async fn store(&self, jobs: Vec<service::jobs::NewJob>, what: &str) -> HttpResponse {
        match self.intake.submit(jobs).await {
            Ok(()) => HttpResponse::Ok().json(json!({})),
            Err(e) => {
                tracing::error!(error = %e, "{what} not stored; the platform will redeliver");
                refused(StatusCode::SERVICE_UNAVAILABLE, "try again")
            }
        }
    }
}

fn refused(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "message": message }))
}

/// `POST /bots/line/{tenant}`.
pub async fn line_webhook(
    hooks: web::Data<ChatHooks>,
    tenant: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    // Counted until answered: the chat worker lets it go first.
    let _arrival = hooks.intake.arrive();
    let Some(channel) = hooks.line.get(tenant.as_str()) else {
        return refused(StatusCode::NOT_FOUND, "no LINE channel for this tenant");
    };
    let signature = req
        .headers()
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = line::verify_signature(&channel.channel_secret, &body, signature) {
        tracing::warn!(tenant = %tenant, error = %e, bytes = body.len(), "LINE webhook refused");
        return refused(StatusCode::UNAUTHORIZED, "signature check failed");
    }
    let Some(tenant_id) = hooks.tenant_id(&tenant).await else {
        tracing::error!(tenant = %tenant, "bots.line names no tenant");
        return refused(StatusCode::NOT_FOUND, "no such tenant");
    };
    match line::jobs_for(tenant_id, &body) {
        Ok(jobs) => hooks.store(jobs, "LINE events").await,
        Err(e @ WebhookError::Malformed(_)) => {
            tracing::warn!(tenant = %tenant, error = %e, "LINE webhook body refused");
            refused(StatusCode::BAD_REQUEST, "malformed webhook body")
        }
        Err(e) => refused(StatusCode::UNAUTHORIZED, &e.to_string()),
    }
}

/// `POST /bots/lineworks/{tenant}`: a LINE WORKS bot's callback.
pub async fn lineworks_webhook(
    hooks: web::Data<ChatHooks>,
    tenant: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    // Counted until answered: the chat worker lets it go first.
    let _arrival = hooks.intake.arrive();
    let Some(secret) = hooks.line_works.get(tenant.as_str()) else {
        return refused(StatusCode::NOT_FOUND, "no LINE WORKS bot for this tenant");
    };
    let signature = req
        .headers()
        .get("x-works-signature")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = line::verify_signature(secret, &body, signature) {
        tracing::warn!(tenant = %tenant, error = %e, bytes = body.len(), "LINE WORKS callback refused");
        return refused(StatusCode::UNAUTHORIZED, "signature check failed");
    }
    let Some(tenant_id) = hooks.tenant_id(&tenant).await else {
        return refused(StatusCode::NOT_FOUND, "no such tenant");
    };
    match bots::chat::lineworks::job_for(tenant_id, &body) {
        Ok(Some(job)) => hooks.store(vec![job], "LINE WORKS event").await,
        Ok(None) => HttpResponse::Ok().json(json!({})),
        Err(e) => {
            tracing::warn!(tenant = %tenant, error = %e, "LINE WORKS callback body refused");
            refused(StatusCode::BAD_REQUEST, "malformed callback body")
        }
    }
}

/// `POST /bots/teams/messages`: the Bot Framework messaging endpoint.
pub async fn teams_messages(
    hooks: web::Data<ChatHooks>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    // Counted until answered: the chat worker lets it go first.
    let _arrival = hooks.intake.arrive();
    let Some(teams) = hooks.teams.as_deref() else {
        return refused(StatusCode::NOT_FOUND, "no Teams bot configured");
    };
    let (cfg, auth) = teams;
    // The token is checked against fields of the activity (serviceUrl, channelId), so the
    // body is parsed first; nothing in it is acted on before the token is good.
    let activity: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) => {
            tracing::warn!(
                bytes = body.len(),
                "Teams activity is not a JSON object; refused"
            );
            return refused(StatusCode::BAD_REQUEST, "malformed activity");
        }
    };
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = auth.verify(authorization, &activity).await {
        tracing::warn!(error = %e, "Teams activity refused");
        return refused(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let Some(slug) = cfg.tenant_for(&activity) else {
        tracing::warn!(
            aad_tenant = activity["channelData"]["tenant"]["id"]
                .as_str()
                .unwrap_or(""),
            "Teams activity from an Entra tenant we do not serve"
        );
        return refused(StatusCode::FORBIDDEN, "tenant not served");
    };
    let Some(tenant_id) = hooks.tenant_id(slug).await else {
        tracing::error!(tenant = %slug, "bots.teams names no tenant");
        return refused(StatusCode::NOT_FOUND, "no such tenant");
    };
    match teams::job_for(tenant_id, &activity) {
        Some(job) => hooks.store(vec![job], "Teams activity").await,
        None => HttpResponse::Ok().json(json!({})),
    }
}

/// `POST /bots/teams/outgoing`: a Teams outgoing webhook (a channel's @mention), answered
/// with an FAQ answer in the response.
pub async fn teams_outgoing(
    hooks: web::Data<ChatHooks>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some((cfg, _)) = hooks.teams.as_deref() else {
        return refused(StatusCode::NOT_FOUND, "no Teams bot configured");
    };
    let (Some(secret), Some(slug)) = (&cfg.outgoing_webhook_secret, &cfg.outgoing_webhook_tenant)
    else {
        return refused(StatusCode::NOT_FOUND, "no outgoing webhook configured");
    };
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if !teams::verify_outgoing(secret, &body, authorization) {
        tracing::warn!(
            bytes = body.len(),
            "Teams outgoing webhook refused: HMAC does not match"
        );
        return refused(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let Ok(activity) = serde_json::from_slice::<Value>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "malformed activity");
    };
    let Some(tenant_id) = hooks.tenant_id(slug).await else {
        return refused(StatusCode::NOT_FOUND, "no such tenant");
    };
    let text = teams::strip_mentions(activity["text"].as_str().unwrap_or_default());
    match bots::chat::dialog::channel_answer(&hooks.db, &hooks.search, tenant_id, &text).await {
        Ok(answer) => HttpResponse::Ok().json(json!({ "type": "message", "text": answer })),
        Err(e) => {
            tracing::error!(error = %e, "Teams outgoing webhook: search failed");
            HttpResponse::Ok().json(json!({ "type": "message", "text": "ただいま回答できません。しばらくしてからお試しください。" }))
        }
    }
}
