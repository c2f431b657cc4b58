//! Audit trail views: per article and per user, filterable, as JSON pages or a CSV download.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::clock::parse_time;
use crate::domain::{ArticleId, TopicId, UserId};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, Query, parse_id};
use crate::workflow::audit::{self, AuditFilter, AuditPage, AuditRow};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(for_article))
        .routes(routes!(for_user))
        .routes(routes!(for_topic))
}

/// CSV exports stop after this many rows.
const CSV_MAX_ROWS: usize = 100_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Comma-separated fact kinds, e.g. `ReviewApproved,ReviewReturned`.
    pub kind: Option<String>,
    /// At or after (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// At or before.
    pub to: Option<String>,
    /// `next_before` of the previous page.
    pub before: Option<u64>,
    /// 1–500, default 100.
    pub limit: Option<usize>,
    /// `json` (default) or `csv` (every matching row, as a download).
    pub format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditRowDto {
    pub lsn: u64,
    pub at: String,
    pub actor: Option<u64>,
    pub actor_name: String,
    pub kind: String,
    pub article: Option<u64>,
    pub topic: Option<u64>,
    pub subject: String,
    pub revision: Option<u32>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub level: Option<String>,
    pub comment: String,
}

impl From<&AuditRow> for AuditRowDto {
    fn from(r: &AuditRow) -> Self {
        Self {
            lsn: r.lsn,
            at: ts(r.at),
            actor: r.actor,
            actor_name: r.actor_name.clone(),
            kind: r.kind.to_string(),
            article: r.article,
            topic: r.topic,
            subject: r.subject.clone(),
            revision: r.revision,
            from: r.from.map(str::to_string),
            to: r.to.map(str::to_string),
            level: r.level.clone(),
            comment: r.comment.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub rows: Vec<AuditRowDto>,
    pub next_before: Option<u64>,
}

fn filter(q: &AuditQuery) -> Result<AuditFilter> {
    let t = |name: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                parse_time(s).ok_or_else(|| {
                    Error::InvalidQuery(format!("{name}: use RFC 3339 or YYYY-MM-DD"))
                })
            })
            .transpose()
    };
    Ok(AuditFilter {
        kinds: q
            .kind
            .as_deref()
            .map(|k| {
                k.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        from: t("from", &q.from)?,
        to: t("to", &q.to)?,
    })
}

enum Format {
    Json(usize),
    Csv,
}

fn format(q: &AuditQuery) -> Result<Format> {
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let limit = q.limit.unwrap_or(100);
            if !(1..=500).contains(&limit) {
                return Err(Error::InvalidQuery("limit must be 1–500".into()));
            }
            Ok(Format::Json(limit))
        }
        "csv" => Ok(Format::Csv),
        other => Err(Error::InvalidQuery(format!(
            "format {other:?} is not json or csv"
        ))),
    }
}

fn csv_response(rows: &[AuditRow], name: &str) -> Result<Response> {
    // A BOM so spreadsheet programs read the UTF-8 (Chinese) text correctly.
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let io = |e: csv::Error| Error::Internal(format!("csv: {e}"));
    w.write_record([
        "lsn", "time", "actor_id", "actor", "action", "article", "subject", "revision", "from",
        "to", "level", "comment",
    ])
    .map_err(io)?;
    for r in rows {
        let opt = |v: Option<String>| v.unwrap_or_default();
        w.write_record([
            r.lsn.to_string(),
            ts(r.at),
            opt(r.actor.map(|x| x.to_string())),
            r.actor_name.clone(),
            r.kind.to_string(),
            opt(r.article.map(|x| x.to_string())),
            r.subject.clone(),
            opt(r.revision.map(|x| x.to_string())),
            opt(r.from.map(str::to_string)),
            opt(r.to.map(str::to_string)),
            opt(r.level.clone()),
            r.comment.clone(),
        ])
        .map_err(io)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Answer with one page, or with every matching row as CSV.
fn answer(
    q: &AuditQuery,
    name: &str,
    mut page: impl FnMut(Option<u64>, usize) -> Result<AuditPage>,
) -> Result<Response> {
    match format(q)? {
        Format::Json(limit) => {
            let p = page(q.before, limit)?;
            Ok(Json(AuditDto {
                rows: p.rows.iter().map(AuditRowDto::from).collect(),
                next_before: p.next_before,
            })
            .into_response())
        }
        Format::Csv => {
            let (mut rows, mut before) = (Vec::new(), q.before);
            loop {
                let p = page(before, 500)?;
                rows.extend(p.rows);
                before = p.next_before;
                if before.is_none() || rows.len() >= CSV_MAX_ROWS {
                    break;
                }
            }
            csv_response(&rows, name)
        }
    }
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/audit", tag = "audit", params(("id" = u64, Path), AuditQuery), responses((status = 200, body = AuditDto)))]
async fn for_article(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let id = ArticleId(parse_id(&raw, Resource::Article)?);
    let f = filter(&q)?;
    tokio::task::spawn_blocking(move || {
        let r = s.core.reader()?;
        answer(&q, &format!("article-{id}-audit"), |b, l| {
            audit::for_article(&r, &auth.actor, id, &f, b, l)
        })
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

#[utoipa::path(get, path = "/api/v1/users/{id}/audit", tag = "audit", params(("id" = u64, Path), AuditQuery), responses((status = 200, body = AuditDto)))]
async fn for_user(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let id = UserId(parse_id(&raw, Resource::User)?);
    let f = filter(&q)?;
    tokio::task::spawn_blocking(move || {
        let r = s.core.reader()?;
        answer(&q, &format!("user-{id}-audit"), |b, l| {
            audit::for_user(&r, &auth.actor, id, &f, b, l)
        })
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

#[utoipa::path(get, path = "/api/v1/topics/{id}/audit", tag = "audit", params(("id" = u64, Path), AuditQuery), responses((status = 200, body = AuditDto)))]
async fn for_topic(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let id = TopicId(parse_id(&raw, Resource::Topic)?);
    let f = filter(&q)?;
    tokio::task::spawn_blocking(move || {
        let r = s.core.reader()?;
        answer(&q, &format!("topic-{id}-audit"), |b, l| {
            audit::for_topic(&r, &auth.actor, id, &f, b, l)
        })
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}
