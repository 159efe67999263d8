//! `POST /sql`: one read-only SQL statement over the tables, the catalogue and `sparql()`,
//! answered as JSON rows (default), CSV or an Arrow IPC stream by `Accept`. Each statement runs
//! on the blocking pool in a runtime of its own, over the server's one session, with the SPARQL
//! timeout and row limit.

use crate::AppState;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::Arc;

/// The largest statement accepted.
const MAX_STATEMENT: usize = 1 << 20;

#[derive(Clone, Copy)]
enum Format {
    Json,
    Csv,
    Arrow,
}

pub(crate) async fn post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if body.len() > MAX_STATEMENT {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the statement is larger than 1 MiB"));
    }
    let content_type =
        req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let sql = if content_type.starts_with("application/x-www-form-urlencoded") {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| ApiError::bad_request("the form needs a query field"))?
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| ApiError::bad_request("the statement is not UTF-8"))?
    };
    let accept = req.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = if accept.contains("text/csv") {
        Format::Csv
    } else if accept.contains("application/vnd.apache.arrow.stream") {
        Format::Arrow
    } else {
        Format::Json
    };
    let bytes = on_session(&state, move |ctx, timeout, max_rows| async move {
        let batches = sailkg_sql::run(&ctx, &sql, timeout, max_rows).await?;
        match format {
            Format::Json => sailkg_sql::to_json(&batches),
            Format::Csv => sailkg_sql::to_csv(&batches),
            Format::Arrow => sailkg_sql::to_arrow_ipc(&batches),
        }
    })
    .await?;
    let content_type = match format {
        Format::Json => "application/json",
        Format::Csv => "text/csv; charset=utf-8",
        Format::Arrow => "application/vnd.apache.arrow.stream",
    };
    Ok(HttpResponse::Ok().content_type(content_type).body(bytes))
}

/// Runs `work` with the server's session, the timeout and the row limit on the blocking pool,
/// in a runtime of its own; its errors become statuses (400, 422 over the row limit, 503 past
/// the timeout).
pub(crate) async fn on_session<T, F, Fut>(state: &AppState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(Arc<datafusion::prelude::SessionContext>, std::time::Duration, usize) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, sailkg_sql::SqlError>>,
{
    let ctx = Arc::clone(&state.sql);
    let timeout = state.config.query_timeout();
    let max_rows = usize::try_from(state.config.sparql.max_result_rows).unwrap_or(usize::MAX);
    let result = web::block(move || -> Result<T, sailkg_sql::SqlError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| datafusion_error(e.to_string()))?;
        runtime.block_on(work(ctx, timeout, max_rows))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    result.map_err(|e| match e {
        sailkg_sql::SqlError::Timeout(seconds) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("the statement ran past {seconds} s"))
        }
        e @ sailkg_sql::SqlError::TooManyRows(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        e if e.is_user_error() => ApiError::bad_request(e.to_string()),
        e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
}

fn datafusion_error(message: String) -> sailkg_sql::SqlError {
    sailkg_sql::SqlError::Runtime(message)
}
