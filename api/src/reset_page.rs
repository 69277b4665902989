//! The password reset page behind a one-time link sent in chat: `GET /reset/{token}` shows
//! the form, `POST /reset/{token}` sets the password through the tenant's directory. Plain
//! HTML in Japanese that works without JavaScript; nothing cached, no referrer (the token is
//! in the URL), no framing. The password goes from the form to the directory and nowhere else.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use service::Secret;
use service::reset::{self, CompleteReset, PasswordDirectory, ResetPolicy};

/// A tenant's reset rules and the directory its passwords are set in.
pub type TenantReset = (ResetPolicy, Arc<dyn PasswordDirectory>);

/// The tenants (by slug) that offer resets.
#[derive(Clone, Default)]
pub struct Resets {
    pub by_tenant: Arc<HashMap<String, TenantReset>>,
    pub db: Option<service::Db>,
}

#[derive(Deserialize)]
pub struct Form {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.7}}
label{{display:block;margin-top:1rem}}input{{font-size:1.1rem;width:100%;padding:.4rem;box-sizing:border-box}}
button{{margin-top:1.5rem;font-size:1.1rem;padding:.5rem 2rem}}.error{{color:#b00020}}.note{{color:#555;font-size:.9rem}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"#
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(html)
}

fn invalid() -> HttpResponse {
    page(
        StatusCode::GONE,
        "リンクが無効です",
        "<p id=\"result\">このリンクは使用済みか、有効期限が切れています。もう一度チャットボットで「パスワードリセット」と送ってください。</p>",
    )
}

fn form(name: &str, policy: &ResetPolicy, errors: &[String]) -> HttpResponse {
    let errors: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect();
    let errors = if errors.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"error\" id=\"errors\">{errors}</ul>")
    };
    page(
        StatusCode::OK,
        "パスワードの再設定",
        &format!(
            r#"<p>{} さんの新しいパスワードを設定します。</p><p class="note">{}</p>{errors}
<form method="post" autocomplete="off">
<label>新しいパスワード<input type="password" name="password" id="password" autocomplete="new-password" required></label>
<label>確認のためもう一度<input type="password" name="confirm" id="confirm" autocomplete="new-password" required></label>
<button type="submit" id="submit">設定する</button></form>
<p class="note">このページのリンクは1回限り有効です。設定後、次回のログオン時にパスワードの変更を求められます。</p>"#,
            escape(name),
            escape(&policy.describe())
        ),
    )
}

/// `GET /reset/{token}`.
pub async fn show(resets: web::Data<Resets>, token: web::Path<String>) -> HttpResponse {
    let Some(db) = &resets.db else {
        return invalid();
    };
    match reset::open_link(&db.read, &token, service::tickets::now()).await {
        Ok(Some(link)) => match resets.by_tenant.get(&link.tenant.slug) {
            Some((policy, _)) => form(&link.person.display_name, policy, &[]),
            None => invalid(),
        },
        Ok(None) => invalid(),
        Err(e) => {
            tracing::error!(error = %e, "reset page failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "ただいま利用できません",
                "<p>しばらくしてから、もう一度お試しください。</p>",
            )
        }
    }
}

/// `POST /reset/{token}`.
pub async fn submit(
    resets: web::Data<Resets>,
    token: web::Path<String>,
    body: web::Form<Form>,
) -> HttpResponse {
    let Some(db) = &resets.db else {
        return invalid();
    };
    let now = service::tickets::now();
    let link = match reset::open_link(&db.read, &token, now).await {
        Ok(Some(l)) => l,
        Ok(None) => return invalid(),
        Err(e) => {
            tracing::error!(error = %e, "reset page failed");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "ただいま利用できません",
                "<p>しばらくしてから、もう一度お試しください。</p>",
            );
        }
    };
    let Some((policy, directory)) = resets.by_tenant.get(&link.tenant.slug) else {
        return invalid();
    };
    let Form { password, confirm } = body.into_inner();
    let (password, confirm) = (Secret::new(password), Secret::new(confirm));
    if password.expose() != confirm.expose() {
        return form(
            &link.person.display_name,
            policy,
            &["確認のためのパスワードが一致しません。".to_owned()],
        );
    }
    match reset::complete(
        &db.write,
        policy,
        directory.as_ref(),
        &token,
        &password,
        now,
    )
    .await
    {
        Ok(CompleteReset::Done { ticket_number }) => page(
            StatusCode::OK,
            "パスワードを設定しました",
            &format!(
                "<p id=\"result\">新しいパスワードを設定しました（受付番号 {}）。次回のログオン時に、パスワードの変更を求められます。</p><p class=\"note\">このページは閉じてください。</p>",
                escape(&ticket_number)
            ),
        ),
        Ok(CompleteReset::Weak(problems)) => form(&link.person.display_name, policy, &problems),
        Ok(CompleteReset::InvalidLink) => invalid(),
        Ok(CompleteReset::DirectoryFailed) => page(
            StatusCode::BAD_GATEWAY,
            "設定できませんでした",
            "<p id=\"result\">パスワードを設定できませんでした。時間をおいて、同じリンクからもう一度お試しください（有効期限内に限ります）。続く場合はヘルプデスクにご連絡ください。</p>",
        ),
        Err(e) => {
            tracing::error!(error = %e, "password reset failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "ただいま利用できません",
                "<p>しばらくしてから、もう一度お試しください。</p>",
            )
        }
    }
}
