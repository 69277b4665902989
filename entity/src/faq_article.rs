//! An FAQ article (よくある質問): a question, its answer, who it is for, and its state.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "faq_articles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Stable code per tenant (faq-001), the key imports match on.
    pub code: String,
    pub category: String,
    /// Audiences, comma-separated: staff, teacher, student.
    pub audience: String,
    #[sea_orm(column_type = "Text")]
    pub question: String,
    #[sea_orm(column_type = "Text")]
    pub answer: String,
    /// Keywords, one per line.
    #[sea_orm(column_type = "Text")]
    pub keywords: String,
    pub status: crate::FaqStatus,
    pub version: i32,
    pub view_count: i64,
    pub helpful_count: i64,
    pub not_helpful_count: i64,
    pub last_reviewed_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

impl Model {
    pub fn audiences(&self) -> Vec<String> {
        self.audience
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn keyword_list(&self) -> Vec<String> {
        self.keywords
            .lines()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
