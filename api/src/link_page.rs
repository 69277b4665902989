//! The sign-in page of LINE's account link: LINE sends the user here with a link token; they
//! prove who they are with a code mailed to their registered address, and are sent back to
//! LINE with a nonce that LINE returns in the `accountLink` event (then the bot links them).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use service::chat::{self, Platform, WebLinkConfirm};
use uuid::Uuid;

use crate::reset_page::{escape, page};
use crate::webhooks::ChatHooks;

#[derive(Deserialize)]
pub struct Query {
    #[serde(rename = "linkToken", default)]
    link_token: String,
}

#[derive(Deserialize)]
pub struct Form {
    #[serde(rename = "linkToken", default)]
    link_token: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    pending: Option<Uuid>,
    #[serde(default)]
    code: Option<String>,
}

fn valid_token(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn gone(text: &str) -> HttpResponse {
    page(
        StatusCode::GONE,
        "連携できません",
        &format!("<p id=\"result\">{}</p>", escape(text)),
    )
}

fn email_form(token: &str, error: Option<&str>) -> HttpResponse {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"errors\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "LINEとヘルプデスクの連携",
        &format!(
            r#"<p>職場のメールアドレスを入力してください。登録されているアドレスに確認コードをお送りします。</p>{error}
<form method="post"><input type="hidden" name="linkToken" value="{}">
<label>メールアドレス<input type="email" name="email" id="email" autocomplete="email" required></label>
<button type="submit" id="submit">確認コードを送る</button></form>"#,
            escape(token)
        ),
    )
}

fn code_form(token: &str, pending: Uuid, error: Option<&str>) -> HttpResponse {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"errors\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "確認コードの入力",
        &format!(
            r#"<p>登録されているアドレスであれば、6桁の確認コードをお送りしました（有効期限{}分）。</p>{error}
<form method="post"><input type="hidden" name="linkToken" value="{}"><input type="hidden" name="pending" value="{pending}">
<label>確認コード<input type="text" name="code" id="code" inputmode="numeric" autocomplete="one-time-code" required></label>
<button type="submit" id="submit">連携する</button></form>"#,
            chat::CODE_MINUTES,
            escape(token)
        ),
    )
}

/// `GET /link/line/{tenant}?linkToken=…`.
pub async fn show(
    hooks: web::Data<ChatHooks>,
    tenant: web::Path<String>,
    q: web::Query<Query>,
) -> HttpResponse {
    if hooks.line_channel(&tenant).is_none() || !valid_token(&q.link_token) {
        return gone("このリンクは使えません。LINEのトークでもう一度「連携」と送ってください。");
    }
    email_form(&q.link_token, None)
}

/// `POST /link/line/{tenant}`: the address (a code is mailed), then the code (back to LINE).
pub async fn submit(
    hooks: web::Data<ChatHooks>,
    tenant: web::Path<String>,
    form: web::Form<Form>,
) -> HttpResponse {
    let (Some(channel), true) = (hooks.line_channel(&tenant), valid_token(&form.link_token)) else {
        return gone("このリンクは使えません。LINEのトークでもう一度「連携」と送ってください。");
    };
    let Some(tenant_id) = hooks.tenant_id(&tenant).await else {
        return gone("このテナントは見つかりません。");
    };
    let now = service::tickets::now();
    let failed = |e: service::ServiceError| {
        tracing::error!(error = %e, "account link page failed");
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "ただいま利用できません",
            "<p>しばらくしてから、もう一度お試しください。</p>",
        )
    };
    match (&form.pending, &form.code, &form.email) {
        (Some(pending), Some(code), _) => {
            match chat::web_link_confirm(hooks.db(), *pending, code, now).await {
                Ok(WebLinkConfirm::Nonce(nonce)) => {
                    let to = format!(
                        "{}/dialog/bot/accountLink?linkToken={}&nonce={}",
                        channel.access_base.trim_end_matches('/'),
                        form.link_token,
                        nonce.expose()
                    );
                    HttpResponse::Found()
                        .insert_header(("location", to))
                        .insert_header(("cache-control", "no-store"))
                        .insert_header(("referrer-policy", "no-referrer"))
                        .finish()
                }
                Ok(WebLinkConfirm::Wrong { left }) => code_form(
                    &form.link_token,
                    *pending,
                    Some(&format!("確認コードが違います。あと{left}回入力できます。")),
                ),
                Ok(WebLinkConfirm::Expired) => gone(
                    "確認コードが無効になりました。LINEのトークでもう一度「連携」と送ってください。",
                ),
                Err(e) => failed(e),
            }
        }
        (_, _, Some(email)) if email.contains('@') && email.len() <= 254 => {
            let tenant = match service::directory::tenant(hooks.db(), tenant_id).await {
                Ok(Some(t)) => t,
                Ok(None) => return gone("このテナントは見つかりません。"),
                Err(e) => return failed(e),
            };
            match chat::web_link_start(hooks.db(), &tenant, Platform::Line, email, now).await {
                Ok(pending) => code_form(&form.link_token, pending, None),
                Err(e) => failed(e),
            }
        }
        _ => email_form(&form.link_token, Some("メールアドレスを入力してください。")),
    }
}
