//! The W3C Reconciliation Service API v0.2 at `/reconcile`, so OpenRefine can reconcile its
//! columns against the graph: the service manifest, batched queries (GET or POST `queries`),
//! entity and type suggestions, and entity previews. JSONP via `callback`. Scoring lives in
//! `sailkg_map::reconcile`; store work runs on the blocking pool.

use crate::AppState;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use sailkg_map::reconcile::{self, Query};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Queries accepted in one request.
const MAX_QUERIES: usize = 50;
/// Characters accepted in one query's text.
const MAX_QUERY_CHARS: usize = 500;

fn params(req: &HttpRequest, body: &[u8]) -> HashMap<String, String> {
    let mut out: HashMap<String, String> =
        form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let form = req.content_type().starts_with("application/x-www-form-urlencoded");
    if form {
        out.extend(form_urlencoded::parse(body).into_owned());
    }
    out
}

/// JSON, or JSONP when a valid `callback` is given.
fn respond(params: &HashMap<String, String>, value: Value) -> HttpResponse {
    match params.get("callback") {
        Some(callback)
            if !callback.is_empty()
                && callback.len() <= 100
                && callback.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')) =>
        {
            HttpResponse::Ok().content_type("application/javascript").body(format!("{callback}({value});"))
        }
        _ => HttpResponse::Ok().json(value),
    }
}

fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn timeout(state: &AppState) -> Duration {
    Duration::from_secs(state.config.sparql.timeout_secs)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// `GET|POST /reconcile`: the manifest, or the results of `queries` (or a single `query`).
pub(crate) async fn service(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req, &body);
    let batch: Vec<(String, Query)> = if let Some(queries) = params.get("queries") {
        let parsed: Value =
            serde_json::from_str(queries).map_err(|e| bad(format!("queries is not JSON: {e}")))?;
        let object =
            parsed.as_object().ok_or_else(|| bad("queries must be a JSON object of named queries"))?;
        if object.len() > MAX_QUERIES {
            return Err(bad(format!("at most {MAX_QUERIES} queries per request")));
        }
        object.iter().map(|(key, q)| Ok((key.clone(), parse_query(q)?))).collect::<Result<_, ApiError>>()?
    } else if let Some(single) = params.get("query") {
        // v0.1: one query, as JSON or as plain text.
        let q = match serde_json::from_str::<Value>(single) {
            Ok(value @ Value::Object(_)) => parse_query(&value)?,
            _ => parse_query(&json!({ "query": single }))?,
        };
        vec![("q0".to_owned(), q)]
    } else {
        return manifest(&req, &params, state).await;
    };
    let store = state.store.clone();
    let limit = timeout(&state);
    let single = params.contains_key("query") && !params.contains_key("queries");
    let search = state.search.clone();
    let results = web::block(move || -> Result<Vec<(String, Vec<reconcile::Candidate>)>, String> {
        batch
            .into_iter()
            .map(|(key, q)| {
                // Candidates from the search index when it finds any; a label scan otherwise
                // (the index may still be catching up with a write).
                let found = search.as_ref().and_then(|search| {
                    let filters = q.kind.iter().map(|k| ("class".to_owned(), k.clone())).collect();
                    let hits = search
                        .index
                        .search(&sailkg_search::SearchQuery {
                            text: q.text.clone(),
                            filters,
                            page: 0,
                            size: 50,
                        })
                        .ok()?;
                    let ids: Vec<String> = hits.hits.into_iter().map(|h| h.id).collect();
                    (!ids.is_empty()).then_some(ids)
                });
                let candidates = match &found {
                    Some(ids) => reconcile::reconcile_among(&store, &q, limit, Some(ids))?,
                    None => reconcile::reconcile(&store, &q, limit)?,
                };
                Ok((key, candidates))
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(bad)?;
    let mut out = serde_json::Map::new();
    for (key, candidates) in results {
        let result: Vec<Value> = candidates
            .into_iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "name": c.name,
                    "type": c.types.into_iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
                    "score": (c.score * 100.0).round() / 100.0,
                    "match": c.matched,
                })
            })
            .collect();
        out.insert(key, json!({ "result": result }));
    }
    let value = if single { out.remove("q0").unwrap_or(Value::Null) } else { Value::Object(out) };
    Ok(respond(&params, value))
}

fn parse_query(value: &Value) -> Result<Query, ApiError> {
    let text = value
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("each query needs a \"query\" string"))?;
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(bad(format!("a query is at most {MAX_QUERY_CHARS} characters")));
    }
    let kind = match value.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(ts)) => ts.first().and_then(Value::as_str).map(str::to_owned),
        Some(Value::Object(t)) => t.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let limit = value.get("limit").and_then(Value::as_u64).unwrap_or(5).clamp(1, 100) as usize;
    let mut properties = Vec::new();
    for property in value.get("properties").and_then(Value::as_array).into_iter().flatten() {
        let pid =
            property.get("pid").and_then(Value::as_str).ok_or_else(|| bad("a property needs a \"pid\""))?;
        let v = match property.get("v") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            Some(Value::Array(vs)) => vs
                .first()
                .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
                .unwrap_or_default(),
            Some(other) => other.to_string(),
            None => continue,
        };
        properties.push((pid.to_owned(), v));
    }
    Ok(Query { text: text.to_owned(), kind, limit, properties })
}

async fn manifest(
    req: &HttpRequest,
    params: &HashMap<String, String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let limit = timeout(&state);
    let types = web::block(move || reconcile::suggest_types(&store, "", 10, limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(bad)?;
    let base = base_url(req);
    Ok(respond(
        params,
        json!({
            "versions": ["0.1", "0.2"],
            "name": "SAIL-KG",
            "identifierSpace": "urn:sailkg:entity",
            "schemaSpace": "urn:sailkg:schema",
            "defaultTypes": types.into_iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
            "view": { "url": format!("{base}/reconcile/preview?id={{{{id}}}}") },
            "preview": { "url": format!("{base}/reconcile/preview?id={{{{id}}}}"), "width": 400, "height": 200 },
            "suggest": {
                "entity": { "service_url": base, "service_path": "/reconcile/suggest/entity" },
                "type": { "service_url": base, "service_path": "/reconcile/suggest/type" },
            },
        }),
    ))
}

/// `GET /reconcile/suggest/{entity|type}?prefix=`.
pub(crate) async fn suggest(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req, &[]);
    let prefix = params.get("prefix").cloned().unwrap_or_default();
    if prefix.chars().count() > MAX_QUERY_CHARS {
        return Err(bad("prefix too long"));
    }
    let kind = path.into_inner();
    let store = state.store.clone();
    let limit = timeout(&state);
    let found = web::block(move || match kind.as_str() {
        "entity" => reconcile::suggest_entities(&store, &prefix, 10, limit),
        "type" => reconcile::suggest_types(&store, &prefix, 10, limit),
        other => Err(format!("no suggest service {other:?} (entity and type exist)")),
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, e))?;
    let result: Vec<Value> = found.into_iter().map(|(id, name)| json!({"id": id, "name": name})).collect();
    Ok(respond(&params, json!({ "result": result })))
}

/// `GET /reconcile/preview?id=`: a small HTML card.
pub(crate) async fn preview(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let params = params(&req, &[]);
    let id = params.get("id").cloned().ok_or_else(|| bad("preview needs ?id="))?;
    let store = state.store.clone();
    let limit = timeout(&state);
    let shown = id.clone();
    let (name, facts) = web::block(move || reconcile::describe(&store, &id, limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(bad)?;
    let rows: String =
        facts.iter().map(|(p, v)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(p), escape(v))).collect();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body style=\"font:13px sans-serif;margin:6px\"><b>{}</b><br><small>{}</small><table>{rows}</table></body></html>",
        escape(&name),
        escape(&name),
        escape(&shown)
    );
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
