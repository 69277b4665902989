//! The chat platforms' webhooks: verified on the raw body, stored as jobs, answered at once.
//! The work happens in `bots::chat::Worker`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix_web::{HttpRequest, HttpResponse, web};
use bots::chat::Intake;
use sea_orm::DatabaseConnection;
use bots::chat::line::{self, LineConfig, WebhookError};
use service::Secret;
use uuid::Uuid;

/// The LINE channels by tenant slug, and the intake their events go to. Tenants are looked
/// up on first use (a channel may be configured before its tenant is created).
#[derive(Clone)]
pub struct LineWebhooks {
    secrets: Arc<HashMap<String, Secret>>,
    tenants: Arc<RwLock<HashMap<String, Uuid>>>,
    db: DatabaseConnection,
    intake: Intake,
}

impl LineWebhooks {
    pub fn new(channels: &[LineConfig], db: DatabaseConnection, intake: Intake) -> Self {
        let secrets = channels.iter().map(|c| (c.tenant.clone(), c.channel_secret.clone())).collect();
        Self { secrets: Arc::new(secrets), tenants: Arc::default(), db, intake }
    }

    async fn tenant_id(&self, slug: &str) -> Option<Uuid> {
        if let Some(id) = self.tenants.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(slug) {
            return Some(*id);
        }
        let id = service::directory::tenant_by_slug(&self.db, slug).await.ok()??.id;
        self.tenants.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(slug.to_owned(), id);
        Some(id)
    }
}

fn refused(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "message": message }))
}

/// `POST /bots/line/{tenant}`.
pub async fn line_webhook(
    hooks: web::Data<LineWebhooks>,
    tenant: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(secret) = hooks.secrets.get(tenant.as_str()) else {
        return refused(StatusCode::NOT_FOUND, "no LINE channel for this tenant");
    };
    let signature = req.headers().get("x-line-signature").and_then(|v| v.to_str().ok());
    if let Err(e) = line::verify_signature(secret, &body, signature) {
        tracing::warn!(tenant = %tenant, error = %e, bytes = body.len(), "LINE webhook refused");
        return refused(StatusCode::UNAUTHORIZED, "signature check failed");
    }
    let Some(tenant_id) = hooks.tenant_id(&tenant).await else {
        tracing::error!(tenant = %tenant, "bots.line names no tenant");
        return refused(StatusCode::NOT_FOUND, "no such tenant");
    };
    let jobs = match line::jobs_for(tenant_id, &body) {
        Ok(j) => j,
        Err(e @ WebhookError::Malformed(_)) => {
            tracing::warn!(tenant = %tenant, error = %e, "LINE webhook body refused");
            return refused(StatusCode::BAD_REQUEST, "malformed webhook body");
        }
        Err(e) => return refused(StatusCode::UNAUTHORIZED, &e.to_string()),
    };
    match hooks.intake.submit(jobs).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({})),
        Err(e) => {
            tracing::error!(tenant = %tenant, error = %e, "LINE events not stored; LINE will redeliver");
            refused(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}
