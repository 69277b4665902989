//! The FAQ and search in GraphQL: articles, full-text search with highlights
//! and facets, suggested answers, similar tickets, and synonyms.

use super::context::CtxExt;
use super::errors::{ApiError, ApiResult, svc};
use super::ids::{self, NodeType, encode};
use super::mutation::UserError;
use super::pagination::{self, PageInfo};
use super::types::{Person, Ticket};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Union};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{faq_article, faq_article_version};
use service::ServiceError;
use service::faq::{self, FaqFilter, FaqInput};
use service::search::{Search, SearchInput};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Where an FAQ article is in its life.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::FaqStatus")]
pub enum FaqStatus {
    /// 下書き: only the desk sees it.
    Draft,
    /// 公開: its audience sees it; the bots answer with it.
    Published,
    /// アーカイブ: kept for history, shown to the desk only.
    Archived,
}

/// Who an FAQ article is written for.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum FaqAudience {
    /// 職員
    Staff,
    /// 教職員
    Teacher,
    /// 児童生徒
    Student,
}

impl FaqAudience {
    fn code(self) -> &'static str {
        match self {
            FaqAudience::Staff => "staff",
            FaqAudience::Teacher => "teacher",
            FaqAudience::Student => "student",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "staff" => Some(FaqAudience::Staff),
            "teacher" => Some(FaqAudience::Teacher),
            "student" => Some(FaqAudience::Student),
            _ => None,
        }
    }
}

/// What a search hit is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum SearchDocumentType {
    /// An FAQ article.
    FaqArticle,
    /// A ticket (past incidents and inquiries).
    Ticket,
}

impl From<search_index::DocKind> for SearchDocumentType {
    fn from(k: search_index::DocKind) -> Self {
        match k {
            search_index::DocKind::Faq => SearchDocumentType::FaqArticle,
            search_index::DocKind::Ticket => SearchDocumentType::Ticket,
        }
    }
}

/// How sure the FAQ answer is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum AnswerConfidence {
    /// Show the first article as the answer.
    Answer,
    /// Offer the articles to choose from.
    Choose,
    /// No article fits: say so and offer to open a ticket.
    Decline,
}

/// An FAQ article (よくある質問).
pub struct FaqArticle(pub faq_article::Model);

#[Object]
/// An FAQ article (よくある質問).
impl FaqArticle {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::FaqArticle, self.0.id)
    }
    /// Stable code (faq-001), the key imports match on.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// カテゴリ
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// 対象
    async fn audience(&self) -> Vec<FaqAudience> {
        self.0
            .audiences()
            .iter()
            .filter_map(|a| FaqAudience::parse(a))
            .collect()
    }
    /// 質問
    async fn question(&self) -> &str {
        &self.0.question
    }
    /// 回答
    async fn answer(&self) -> &str {
        &self.0.answer
    }
    /// キーワード
    async fn keywords(&self) -> Vec<String> {
        self.0.keyword_list()
    }
    /// 状態
    async fn status(&self) -> FaqStatus {
        self.0.status.into()
    }
    /// Increases with every saved change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 閲覧数
    async fn view_count(&self) -> i64 {
        self.0.view_count
    }
    /// 「解決した」の数
    async fn helpful_count(&self) -> i64 {
        self.0.helpful_count
    }
    /// 「解決しない」の数
    async fn not_helpful_count(&self) -> i64 {
        self.0.not_helpful_count
    }
    /// 最終確認日
    async fn last_reviewed_on(&self) -> Option<NaiveDate> {
        self.0.last_reviewed_on
    }
    /// When the article was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the article last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When the article was last published.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    /// Saved versions, newest first (desk only; FORBIDDEN otherwise).
    async fn versions(&self, ctx: &Context<'_>) -> ApiResult<Vec<FaqArticleVersion>> {
        let rows = svc(faq::versions(&ctx.state().db.read, ctx.actor()?, self.0.id).await)?;
        Ok(rows.into_iter().map(FaqArticleVersion).collect())
    }
}

/// One saved version of an FAQ article.
pub struct FaqArticleVersion(faq_article_version::Model);

#[Object]
/// One saved version of an FAQ article.
impl FaqArticleVersion {
    /// The version number.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// カテゴリ
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// 質問
    async fn question(&self) -> &str {
        &self.0.question
    }
    /// 回答
    async fn answer(&self) -> &str {
        &self.0.answer
    }
    /// キーワード
    async fn keywords(&self) -> Vec<String> {
        self.0.keywords.lines().map(str::to_owned).collect()
    }
    /// 状態
    async fn status(&self) -> FaqStatus {
        self.0.status.into()
    }
    /// Who saved it.
    async fn editor(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        let Some(id) = self.0.editor_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.people.load_one(id).await?.map(Person))
    }
    /// When it was saved.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An FAQ article in a list.
#[derive(SimpleObject)]
pub struct FaqArticleEdge {
    /// Pass as `after` to continue after this article.
    cursor: String,
    /// The article.
    node: FaqArticle,
}

/// A page of FAQ articles, ordered by code.
#[derive(SimpleObject)]
pub struct FaqArticleConnection {
    /// The articles with their cursors.
    edges: Vec<FaqArticleEdge>,
    /// Where this page sits.
    page_info: PageInfo,
}

/// Filters for `faqArticles`.
#[derive(InputObject, Default)]
pub struct FaqArticleFilter {
    /// Only these states (the desk sees drafts and archived articles).
    statuses: Option<Vec<FaqStatus>>,
    /// Only these categories.
    categories: Option<Vec<String>>,
    /// Only articles for this audience.
    audience: Option<FaqAudience>,
}

/// A period; either end may be open.
#[derive(InputObject, Default)]
pub struct DateTimeRange {
    /// From (inclusive).
    from: Option<DateTime<Utc>>,
    /// To (exclusive).
    to: Option<DateTime<Utc>>,
}

/// Filters for `search`.
#[derive(InputObject, Default)]
pub struct SearchFilter {
    /// FAQ articles, tickets, or both (default).
    types: Option<Vec<SearchDocumentType>>,
    /// Category names.
    categories: Option<Vec<String>>,
    /// FAQ audiences.
    audience: Option<Vec<FaqAudience>>,
    /// FAQ or ticket states as in their enums (PUBLISHED, NEW, RESOLVED...).
    status: Option<Vec<String>>,
    /// Created in this period.
    date_range: Option<DateTimeRange>,
}

/// Something search found.
// Built one per hit and handed to the executor; boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Union)]
pub enum SearchResultNode {
    FaqArticle(FaqArticle),
    Ticket(Ticket),
}

/// An excerpt with the matched words marked.
#[derive(SimpleObject)]
pub struct SearchHighlight {
    /// `title` or `body`.
    field: String,
    /// HTML-escaped text with `<mark>` around matches; safe to insert as HTML.
    html: String,
}

/// One search result.
#[derive(SimpleObject)]
pub struct SearchHit {
    /// Relevance (larger is better; comparable within one search only).
    score: f64,
    /// What it is.
    r#type: SearchDocumentType,
    /// The article or ticket.
    node: SearchResultNode,
    /// Excerpts with matches marked.
    highlights: Vec<SearchHighlight>,
}

/// A search result in a page.
#[derive(SimpleObject)]
pub struct SearchHitEdge {
    /// Pass as `after` for the results after this one.
    cursor: String,
    /// The result.
    node: SearchHit,
}

/// How many results have a value.
#[derive(SimpleObject)]
pub struct FacetCount {
    /// The value (an enum value in lower case, or a category name).
    value: String,
    /// Matching documents.
    count: i64,
}

/// Counts of all matching documents by type, category, status and audience.
#[derive(SimpleObject)]
pub struct SearchFacets {
    /// By type (faq, ticket).
    types: Vec<FacetCount>,
    /// By category name.
    categories: Vec<FacetCount>,
    /// By status.
    statuses: Vec<FacetCount>,
    /// By FAQ audience.
    audiences: Vec<FacetCount>,
}

/// A page of search results.
#[derive(SimpleObject)]
pub struct SearchResultConnection {
    /// Results with cursors, best first.
    edges: Vec<SearchHitEdge>,
    /// Where this page sits.
    page_info: PageInfo,
    /// How many documents match in all.
    total_count: i64,
    /// Counts by type, category, status and audience.
    facets: SearchFacets,
}

/// An FAQ article offered as an answer.
#[derive(SimpleObject)]
pub struct SuggestedArticle {
    /// The article.
    article: FaqArticle,
    /// Excerpts with matches marked.
    highlights: Vec<SearchHighlight>,
}

/// FAQ answers for a question, as the chat bots give them.
#[derive(SimpleObject)]
pub struct SuggestedAnswers {
    /// Answer with the first article, offer the articles, or decline.
    confidence: AnswerConfidence,
    /// Up to three articles, best first; empty when declining.
    articles: Vec<SuggestedArticle>,
    /// How much of the question the best article covers (0–1).
    coverage: f64,
}

/// Synonym groups used by search.
#[derive(SimpleObject)]
pub struct SearchSynonyms {
    /// Built into Madoguchi (general IT vocabulary).
    built_in: Vec<Vec<String>>,
    /// The tenant's own, editable with `updateSearchSynonyms`.
    tenant: Vec<Vec<String>>,
}

fn search_of<'a>(ctx: &'a Context<'_>) -> &'a Arc<Search> {
    &ctx.state().search
}

fn highlights(h: &[search_index::Highlight]) -> Vec<SearchHighlight> {
    h.iter()
        .map(|h| SearchHighlight {
            field: h.field.to_owned(),
            html: h.html.clone(),
        })
        .collect()
}

fn offset_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_offset(s: &str) -> ApiResult<usize> {
    URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .filter(|n: &usize| *n <= 10_000)
        .ok_or_else(|| {
            bad(
                "after",
                "INVALID_CURSOR",
                "カーソルの形式が正しくありません",
            )
        })
}

fn bad(field: &str, code: &'static str, msg: &str) -> async_graphql::Error {
    ApiError::BadInput(vec![service::UserError {
        field: vec![field.to_owned()],
        message: msg.to_owned(),
        code,
    }])
    .into()
}

/// Loads hits' articles and tickets in scope, in order; hits gone from scope are dropped.
async fn resolve_hits(
    ctx: &Context<'_>,
    hits: Vec<search_index::Hit>,
) -> ApiResult<Vec<(search_index::Hit, SearchResultNode)>> {
    let actor = ctx.actor()?;
    let faq_ids: Vec<Uuid> = hits
        .iter()
        .filter(|h| h.kind == search_index::DocKind::Faq)
        .filter_map(|h| h.id.parse().ok())
        .collect();
    let ticket_ids: Vec<Uuid> = hits
        .iter()
        .filter(|h| h.kind == search_index::DocKind::Ticket)
        .filter_map(|h| h.id.parse().ok())
        .collect();
    let mut faqs: HashMap<Uuid, faq_article::Model> =
        svc(faq::by_ids(&ctx.state().db.read, actor, &faq_ids).await)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let mut tickets = ctx.loaders()?.tickets.load_many(ticket_ids).await?;
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let Ok(id) = h.id.parse::<Uuid>() else {
            continue;
        };
        let node = match h.kind {
            search_index::DocKind::Faq => faqs
                .remove(&id)
                .map(|a| SearchResultNode::FaqArticle(FaqArticle(a))),
            search_index::DocKind::Ticket => tickets
                .remove(&id)
                .map(|t| SearchResultNode::Ticket(Ticket::from(t))),
        };
        if let Some(node) = node {
            out.push((h, node));
        }
    }
    Ok(out)
}

fn facet(list: Vec<(String, u64)>) -> Vec<FacetCount> {
    list.into_iter()
        .map(|(value, count)| FacetCount {
            value,
            count: count as i64,
        })
        .collect()
}

/// FAQ and search queries.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// FAQ articles in scope, ordered by code. Requesters see published articles for them.
    async fn faq_articles(
        &self,
        ctx: &Context<'_>,
        filter_by: Option<FaqArticleFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<FaqArticleConnection> {
        let actor = ctx.actor()?;
        let (first, _) = pagination::args(first, None)?;
        let after = after
            .map(|a| {
                URL_SAFE_NO_PAD
                    .decode(&a)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.strip_prefix("c:").map(str::to_owned))
                    .ok_or_else(|| {
                        bad(
                            "after",
                            "INVALID_CURSOR",
                            "カーソルの形式が正しくありません",
                        )
                    })
            })
            .transpose()?;
        let f = filter_by.unwrap_or_default();
        let filter = FaqFilter {
            statuses: f
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            categories: f.categories.unwrap_or_default(),
            audience: f.audience.map(|a| a.code().to_owned()),
        };
        let page = svc(faq::list(
            &ctx.state().db.read,
            actor,
            &filter,
            first,
            after.as_deref(),
        )
        .await)?;
        let cursor = |a: &faq_article::Model| URL_SAFE_NO_PAD.encode(format!("c:{}", a.code));
        let start = page.items.first().map(cursor);
        let end = page.items.last().map(cursor);
        Ok(FaqArticleConnection {
            edges: page
                .items
                .into_iter()
                .map(|a| FaqArticleEdge {
                    cursor: cursor(&a),
                    node: FaqArticle(a),
                })
                .collect(),
            page_info: PageInfo::new(page.has_next, after.is_some(), start, end),
        })
    }

    /// An FAQ article by code (faq-001). Errors with NOT_FOUND outside scope.
    async fn faq_article(&self, ctx: &Context<'_>, code: String) -> ApiResult<FaqArticle> {
        let actor = ctx.actor()?;
        if code.len() > 50 {
            return Err(ApiError::NotFound.into());
        }
        Ok(FaqArticle(svc(faq::get_by_code(
            &ctx.state().db.read,
            actor,
            &code,
        )
        .await)?))
    }

    /// Full-text search across FAQ articles and tickets in Japanese, as people
    /// type it (half-width kana, hiragana for katakana, サーバ/サーバー, PW for
    /// パスワード). Results are in the viewer's scope, best first, with
    /// highlighted excerpts and facet counts. `query` is at most 1,000
    /// characters; an empty or all-symbol query finds nothing.
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        filter_by: Option<SearchFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<SearchResultConnection> {
        let actor = ctx.actor()?;
        let (first, _) = pagination::args(first, None)?;
        let offset = after
            .as_deref()
            .map(decode_offset)
            .transpose()?
            .unwrap_or(0);
        let f = filter_by.unwrap_or_default();
        let range = f.date_range.unwrap_or_default();
        let filter = search_index::Filter {
            kinds: f
                .types
                .unwrap_or_default()
                .into_iter()
                .map(|t| match t {
                    SearchDocumentType::FaqArticle => search_index::DocKind::Faq,
                    SearchDocumentType::Ticket => search_index::DocKind::Ticket,
                })
                .collect(),
            categories: f.categories.unwrap_or_default(),
            audiences: f
                .audience
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.code().to_owned())
                .collect(),
            statuses: f
                .status
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            created_from: range.from,
            created_to: range.to,
        };
        let input = SearchInput {
            text: query,
            filter,
            first: first as usize,
            offset,
            // Counting visits every match: only when the client selects it.
            count: ctx.look_ahead().field("totalCount").exists()
                || ctx.look_ahead().field("facets").exists(),
        };
        let results = svc(search_of(ctx)
            .search(&ctx.state().db.read, actor, input)
            .await)?;
        let n = results.hits.len();
        let resolved = resolve_hits(ctx, results.hits).await?;
        let edges: Vec<SearchHitEdge> = resolved
            .into_iter()
            .enumerate()
            .map(|(i, (h, node))| SearchHitEdge {
                cursor: offset_cursor(offset + i + 1),
                node: SearchHit {
                    score: f64::from(h.score),
                    r#type: h.kind.into(),
                    node,
                    highlights: highlights(&h.highlights),
                },
            })
            .collect();
        let has_next = results.has_more;
        Ok(SearchResultConnection {
            page_info: PageInfo::new(
                has_next,
                offset > 0,
                edges.first().map(|e| e.cursor.clone()),
                Some(offset_cursor(offset + n)),
            ),
            edges,
            // Counted whenever totalCount or facets is selected; unselected, never read.
            total_count: results.total.unwrap_or(0) as i64,
            facets: SearchFacets {
                types: facet(results.facets.kinds),
                categories: facet(results.facets.categories),
                statuses: facet(results.facets.statuses),
                audiences: facet(results.facets.audiences),
            },
        })
    }

    /// FAQ answers for a question or a new ticket's text: the same decision the
    /// chat bots make (answer, offer choices, or decline).
    async fn suggested_answers(
        &self,
        ctx: &Context<'_>,
        text: String,
    ) -> ApiResult<SuggestedAnswers> {
        let actor = ctx.actor()?;
        let s = svc(search_of(ctx)
            .suggested_answers(
                &ctx.state().db.read,
                actor,
                &text,
                service::search::Marks::Shown,
            )
            .await)?;
        let resolved = resolve_hits(ctx, s.hits).await?;
        Ok(SuggestedAnswers {
            confidence: match s.confidence {
                search_index::Confidence::Answer => AnswerConfidence::Answer,
                search_index::Confidence::Choose => AnswerConfidence::Choose,
                search_index::Confidence::Decline => AnswerConfidence::Decline,
            },
            articles: resolved
                .into_iter()
                .filter_map(|(h, node)| match node {
                    SearchResultNode::FaqArticle(article) => Some(SuggestedArticle {
                        article,
                        highlights: highlights(&h.highlights),
                    }),
                    SearchResultNode::Ticket(_) => None,
                })
                .collect(),
            coverage: f64::from(s.coverage),
        })
    }

    /// Past tickets like this one, for operators (desk only).
    async fn similar_tickets(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        first: Option<i32>,
    ) -> ApiResult<Vec<SearchHit>> {
        let actor = ctx.actor()?;
        let id = ids::decode(&ticket_id, NodeType::Ticket)?;
        let (first, _) = pagination::args(Some(first.unwrap_or(5)), None)?;
        let hits = svc(search_of(ctx)
            .similar_tickets(&ctx.state().db.read, actor, id, first as usize)
            .await)?;
        Ok(resolve_hits(ctx, hits)
            .await?
            .into_iter()
            .map(|(h, node)| SearchHit {
                score: f64::from(h.score),
                r#type: h.kind.into(),
                node,
                highlights: highlights(&h.highlights),
            })
            .collect())
    }

    /// Synonym groups search uses (desk only).
    async fn search_synonyms(&self, ctx: &Context<'_>) -> ApiResult<SearchSynonyms> {
        let actor = ctx.actor()?;
        let tenant = svc(search_of(ctx)
            .tenant_synonyms(&ctx.state().db.read, actor)
            .await)?;
        Ok(SearchSynonyms {
            built_in: search_of(ctx).default_synonyms(),
            tenant,
        })
    }
}

/// Input of `createFaqArticle`.
#[derive(InputObject)]
pub struct CreateFaqArticleInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// Stable code (faq-001); generated when omitted.
    pub code: Option<String>,
    /// カテゴリ (1–100 characters).
    pub category: String,
    /// 対象 (one or more).
    pub audience: Vec<FaqAudience>,
    /// 質問 (1–500 characters).
    pub question: String,
    /// 回答 (1–20,000 characters).
    pub answer: String,
    /// キーワード (up to 50).
    #[graphql(default)]
    pub keywords: Vec<String>,
    /// 最終確認日.
    pub last_reviewed_on: Option<NaiveDate>,
    /// Publish at once instead of saving a draft.
    #[graphql(default)]
    pub publish: bool,
}

/// Input of `updateFaqArticle`: the article's whole content.
#[derive(InputObject)]
pub struct UpdateFaqArticleInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The FaqArticle ID.
    pub article_id: ID,
    /// Fail with CONFLICT unless the article is still at this version.
    pub expected_version: Option<i32>,
    /// カテゴリ.
    pub category: String,
    /// 対象.
    pub audience: Vec<FaqAudience>,
    /// 質問.
    pub question: String,
    /// 回答.
    pub answer: String,
    /// キーワード.
    #[graphql(default)]
    pub keywords: Vec<String>,
    /// 最終確認日.
    pub last_reviewed_on: Option<NaiveDate>,
}

/// Input of `publishFaqArticle`, `archiveFaqArticle` and `recordFaqArticleView`.
#[derive(InputObject)]
pub struct FaqArticleIdInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The FaqArticle ID.
    pub article_id: ID,
}

/// Input of `voteFaqArticle`.
#[derive(InputObject)]
pub struct VoteFaqArticleInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The FaqArticle ID.
    pub article_id: ID,
    /// 解決した (true) / 解決しない (false). Voting again changes the vote.
    pub helpful: bool,
}

/// Input of `updateSearchSynonyms`.
#[derive(InputObject)]
pub struct UpdateSearchSynonymsInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The tenant's groups, replacing the previous ones; each has two words or more
    /// (e.g. `[["PW", "パスワード"], ["チームズ", "Teams"]]`).
    pub groups: Vec<Vec<String>>,
}

/// The result of an FAQ mutation.
#[derive(SimpleObject)]
pub struct FaqArticlePayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The article after the change; null when userErrors is not empty.
    pub article: Option<FaqArticle>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `updateSearchSynonyms`.
#[derive(SimpleObject)]
pub struct UpdateSearchSynonymsPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The tenant's groups as saved; null when userErrors is not empty.
    pub groups: Option<Vec<Vec<String>>>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

fn faq_input(
    code: String,
    category: String,
    audience: &[FaqAudience],
    question: String,
    answer: String,
    keywords: Vec<String>,
    last_reviewed_on: Option<NaiveDate>,
) -> FaqInput {
    let audience = audience.iter().map(|a| a.code().to_owned()).collect();
    FaqInput {
        code,
        category,
        audience,
        question,
        answer,
        keywords,
        last_reviewed_on,
    }
}

fn faq_payload(
    client_mutation_id: Option<String>,
    r: Result<faq_article::Model, ServiceError>,
) -> ApiResult<FaqArticlePayload> {
    match r {
        Ok(a) => Ok(FaqArticlePayload {
            client_mutation_id,
            article: Some(FaqArticle(a)),
            user_errors: vec![],
        }),
        Err(ServiceError::Invalid(errs)) => Ok(FaqArticlePayload {
            client_mutation_id,
            article: None,
            user_errors: errs.into_iter().map(Into::into).collect(),
        }),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// FAQ and synonym mutations.
#[derive(Default)]
pub struct SearchMutation;

#[Object]
impl SearchMutation {
    /// Writes a new FAQ article, as a draft unless `publish` (desk only).
    async fn create_faq_article(
        &self,
        ctx: &Context<'_>,
        input: CreateFaqArticleInput,
    ) -> ApiResult<FaqArticlePayload> {
        let actor = ctx.actor()?;
        let status = if input.publish {
            entity::FaqStatus::Published
        } else {
            entity::FaqStatus::Draft
        };
        let content = faq_input(
            input.code.unwrap_or_default(),
            input.category,
            &input.audience,
            input.question,
            input.answer,
            input.keywords,
            input.last_reviewed_on,
        );
        faq_payload(
            input.client_mutation_id,
            faq::create(&ctx.state().db.write, actor, content, status).await,
        )
    }

    /// Replaces an FAQ article's content; saves a new version (desk only).
    async fn update_faq_article(
        &self,
        ctx: &Context<'_>,
        input: UpdateFaqArticleInput,
    ) -> ApiResult<FaqArticlePayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.article_id, NodeType::FaqArticle)?;
        let content = faq_input(
            String::new(),
            input.category,
            &input.audience,
            input.question,
            input.answer,
            input.keywords,
            input.last_reviewed_on,
        );
        let r = faq::update(
            &ctx.state().db.write,
            actor,
            id,
            content,
            input.expected_version,
        )
        .await;
        faq_payload(input.client_mutation_id, r)
    }

    /// Publishes an FAQ article to its audience and the bots (desk only).
    async fn publish_faq_article(
        &self,
        ctx: &Context<'_>,
        input: FaqArticleIdInput,
    ) -> ApiResult<FaqArticlePayload> {
        let id = ids::decode(&input.article_id, NodeType::FaqArticle)?;
        let r = faq::set_status(
            &ctx.state().db.write,
            ctx.actor()?,
            id,
            entity::FaqStatus::Published,
        )
        .await;
        faq_payload(input.client_mutation_id, r)
    }

    /// Archives an FAQ article: kept, shown to nobody but the desk (desk only).
    async fn archive_faq_article(
        &self,
        ctx: &Context<'_>,
        input: FaqArticleIdInput,
    ) -> ApiResult<FaqArticlePayload> {
        let id = ids::decode(&input.article_id, NodeType::FaqArticle)?;
        let r = faq::set_status(
            &ctx.state().db.write,
            ctx.actor()?,
            id,
            entity::FaqStatus::Archived,
        )
        .await;
        faq_payload(input.client_mutation_id, r)
    }

    /// Records the viewer's 解決した／解決しない vote; one vote per person and article.
    async fn vote_faq_article(
        &self,
        ctx: &Context<'_>,
        input: VoteFaqArticleInput,
    ) -> ApiResult<FaqArticlePayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.article_id, NodeType::FaqArticle)?;
        let voter = format!("person:{}", actor.person_id);
        let r = faq::vote(&ctx.state().db.write, actor, id, &voter, input.helpful).await;
        faq_payload(input.client_mutation_id, r)
    }

    /// Counts one view of an FAQ article (call when it is shown in full).
    async fn record_faq_article_view(
        &self,
        ctx: &Context<'_>,
        input: FaqArticleIdInput,
    ) -> ApiResult<FaqArticlePayload> {
        let id = ids::decode(&input.article_id, NodeType::FaqArticle)?;
        let r = faq::record_view(&ctx.state().db.write, ctx.actor()?, id).await;
        faq_payload(input.client_mutation_id, r)
    }

    /// Replaces the tenant's synonym groups (admins and supervisors). Takes effect at once; no reindex.
    async fn update_search_synonyms(
        &self,
        ctx: &Context<'_>,
        input: UpdateSearchSynonymsInput,
    ) -> ApiResult<UpdateSearchSynonymsPayload> {
        let actor = ctx.actor()?;
        match search_of(ctx)
            .set_tenant_synonyms(&ctx.state().db.write, actor, input.groups)
            .await
        {
            Ok(groups) => Ok(UpdateSearchSynonymsPayload {
                client_mutation_id: input.client_mutation_id,
                groups: Some(groups),
                user_errors: vec![],
            }),
            Err(ServiceError::Invalid(errs)) => Ok(UpdateSearchSynonymsPayload {
                client_mutation_id: input.client_mutation_id,
                groups: None,
                user_errors: errs.into_iter().map(Into::into).collect(),
            }),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }
}
