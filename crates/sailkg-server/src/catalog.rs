//! `/api/catalog`: the catalogue as JSON for the web UI and scripts — the datasets with their
//! versions, the generation and mapping runs, the class views — and `/api/catalog/{dataset}`: one
//! dataset's columns with their profile and a sample of its newest version. Read through the
//! SQL session's `meta.*` tables, so it says what `sailkg sql` says.

use crate::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

/// Rows of a dataset's sample.
const SAMPLE_ROWS: usize = 20;

/// Runs read-only statements on the shared session, each as a JSON array of rows.
pub(crate) async fn rows(
    state: &AppState,
    statements: Vec<String>,
) -> Result<Vec<Vec<serde_json::Value>>, ApiError> {
    crate::sql::on_session(state, move |ctx, timeout, max_rows| async move {
        let mut out = Vec::with_capacity(statements.len());
        for statement in &statements {
            let batches = sailkg_sql::run(&ctx, statement, timeout, max_rows).await?;
            let json = sailkg_sql::to_json(&batches)?;
            out.push(
                serde_json::from_slice(&json).map_err(|e| sailkg_sql::SqlError::Runtime(e.to_string()))?,
            );
        }
        Ok(out)
    })
    .await
}

/// `GET /api/catalog`.
pub(crate) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut answers = rows(
        &state,
        vec![
            "SELECT * FROM meta.datasets ORDER BY name".into(),
            "SELECT * FROM meta.runs ORDER BY started DESC".into(),
            "SELECT view, class, instances FROM meta.classes ORDER BY view".into(),
        ],
    )
    .await?;
    let classes = answers.pop().unwrap_or_default();
    let runs = answers.pop().unwrap_or_default();
    let datasets = answers.pop().unwrap_or_default();
    Ok(HttpResponse::Ok().json(serde_json::json!({"datasets": datasets, "runs": runs, "classes": classes})))
}

/// Whether `name` can be a dataset name (and so be quoted into SQL safely).
fn is_dataset_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `GET /api/runs/{run}/report.html|report.json`: a generation run's evaluation report, as
/// `sailkg generate` wrote it beside the run's table.
pub(crate) async fn report(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (run, file) = path.into_inner();
    let content_type = match file.as_str() {
        "report.html" => "text/html; charset=utf-8",
        "report.json" => "application/json",
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "a run has report.html and report.json")),
    };
    // Run names are SQL names: no dots, no slashes, so never a path outside the folder.
    if run.is_empty() || run.len() > 200 || !run.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no run {run:?}")));
    }
    let path = state.store.data_dir().join("tables").join("synthetic").join(format!("{run}.{file}"));
    let body = web::block(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no report of run {run:?}")))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        // The report is static: no scripts, only its own styles and inline SVG.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body))
}

/// `GET /api/catalog/{dataset}`.
pub(crate) async fn dataset(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    if !is_dataset_name(&name) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no dataset {name:?}")));
    }
    let mut answer = rows(&state, vec![format!("SELECT * FROM meta.datasets WHERE name = '{name}'")]).await?;
    let Some(dataset) = answer.pop().and_then(|mut rows| rows.pop()) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no dataset {name:?}")));
    };
    let version = dataset["latest_version"].as_str().unwrap_or_default().replace('\'', "''");
    let mut answers = rows(
        &state,
        vec![
            format!(
                "SELECT name, datatype, null_share, distinct_count, min, max FROM meta.columns \
                 WHERE source = '{name}' AND version = '{version}'"
            ),
            format!("SELECT * FROM source.\"{name}\" LIMIT {SAMPLE_ROWS}"),
        ],
    )
    .await?;
    let sample = answers.pop().unwrap_or_default();
    let columns = answers.pop().unwrap_or_default();
    Ok(HttpResponse::Ok().json(serde_json::json!({"dataset": dataset, "columns": columns, "sample": sample})))
}

/// `GET /openapi.json`: the HTTP API, OpenAPI 3.1.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(include_str!("openapi.json"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dataset_names_are_checked_before_they_reach_sql() {
        for ok in ["airports", "flights-5k", "a_b.c"] {
            assert!(super::is_dataset_name(ok), "{ok}");
        }
        for bad in ["", "x'; DROP", "a b", "\"q\"", "a/b"] {
            assert!(!super::is_dataset_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_openapi_document_is_json_and_names_the_routes() {
        let document: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        for path in [
            "/sparql",
            "/sql",
            "/api/generate",
            "/api/generate/{id}",
            "/api/catalog",
            "/api/catalog/{dataset}",
        ] {
            assert!(document["paths"].get(path).is_some(), "{path}");
        }
    }
}
