//! The one error type resolvers return, mapped to GraphQL errors with `extensions.code`.
//!
//! Codes (listed in the README): `UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_ID`,
//! `BAD_USER_INPUT`, `CONFLICT`, `INTERNAL`. Internal details are logged, never sent.

use async_graphql::ErrorExtensions;
use service::{ServiceError, UserError};

/// What went wrong, in the terms a client sees.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// extensions, and every error we send must carry its `code`; `From` below does that.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden,
    NotFound,
    InvalidId(String),
    BadInput(Vec<UserError>),
    Conflict,
    Internal,
}

impl ApiError {
    /// Returns the Japanese message sent to the client.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => "認証が必要です".into(),
            ApiError::Forbidden => "この操作を行う権限がありません".into(),
            ApiError::NotFound => "対象が見つかりません".into(),
            ApiError::InvalidId(id) => format!("IDの形式が正しくありません: {id}"),
            ApiError::BadInput(errs) => match errs.first() {
                Some(e) => format!("入力内容に誤りがあります: {}", e.message),
                None => "入力内容に誤りがあります".into(),
            },
            ApiError::Conflict => "他の利用者が先に更新しました。再読み込みしてください".into(),
            ApiError::Internal => "内部エラーが発生しました".into(),
        }
    }

    /// Returns the stable code put into `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::InvalidId(_) => "INVALID_ID",
            ApiError::BadInput(_) => "BAD_USER_INPUT",
            ApiError::Conflict => "CONFLICT",
            ApiError::Internal => "INTERNAL",
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::Forbidden(why) => {
                tracing::debug!(reason = why, "forbidden");
                ApiError::Forbidden
            }
            ServiceError::Invalid(errs) => ApiError::BadInput(errs),
            ServiceError::Conflict(_) => ApiError::Conflict,
            other => {
                tracing::error!(error = %other, cause = ?other, "service error");
                ApiError::Internal
            }
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message()).extend_with(|_, e| {
            e.set("code", self.code());
            if let ApiError::BadInput(errs) = self {
                let list: Vec<async_graphql::Value> = errs
                    .iter()
                    .map(|u| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(
                            async_graphql::Name::new("field"),
                            async_graphql::Value::from(u.field.join(".")),
                        );
                        m.insert(
                            async_graphql::Name::new("code"),
                            async_graphql::Value::from(u.code),
                        );
                        m.insert(
                            async_graphql::Name::new("message"),
                            async_graphql::Value::from(u.message.clone()),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                e.set("userErrors", list);
            }
        })
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.extend()
    }
}

/// Result alias for resolvers.
pub type ApiResult<T> = Result<T, async_graphql::Error>;

/// Converts a service result, mapping the error.
pub fn svc<T>(r: Result<T, ServiceError>) -> ApiResult<T> {
    r.map_err(|e| ApiError::from(e).into())
}
