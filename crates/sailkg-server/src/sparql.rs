//! The SPARQL 1.1 Protocol: query and update over GET and POST, and the service description.

use crate::error::ApiError;
use crate::negotiate::{self, BOOLEAN_FORMATS, SOLUTION_FORMATS, graph_formats};
use crate::stream::{ChannelWriter, Msg, respond};
use crate::{AppState, authorize_write, request_url};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use oxigraph::io::RdfSerializer;
use oxigraph::model::{BlankNode, Literal, NamedNode, NamedNodeRef, Triple};
use oxigraph::sparql::QueryResults;
use sailkg_store::{QueryRequest, ResultsFormat, UpdateRequest, write_results};
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// Which operations an endpoint accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accepts {
    Both,
    Query,
    Update,
}

/// Form or URL parameters, in order, repeated keys kept.
type Params = Vec<(String, String)>;

pub(crate) async fn get_any(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    get(req, state, Accepts::Both).await
}

pub(crate) async fn get_query(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    get(req, state, Accepts::Query).await
}

pub(crate) async fn post_any(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    post(req, state, body, Accepts::Both).await
}

pub(crate) async fn post_query(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    post(req, state, body, Accepts::Query).await
}

pub(crate) async fn post_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    post(req, state, body, Accepts::Update).await
}

async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    accepts: Accepts,
) -> Result<HttpResponse, ApiError> {
    let params = parse_params(req.query_string().as_bytes())?;
    if has(&params, "update") {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "updates must be sent with POST, not GET"));
    }
    match single(&params, "query")? {
        Some(query) if accepts != Accepts::Update => run_query(&req, &state, &params, query).await,
        Some(_) => Err(ApiError::bad_request("this endpoint only accepts updates")),
        None => service_description(&req, &state),
    }
}

async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
    accepts: Accepts,
) -> Result<HttpResponse, ApiError> {
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for param in parts {
        if let Some((key, value)) = param.split_once('=') {
            let value = value.trim().trim_matches('"');
            if key.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("charset {value} is not supported; send UTF-8"),
                ));
            }
        }
    }
    let mut params = parse_params(req.query_string().as_bytes())?;
    let limit = state.config.server.max_request_bytes;
    match media.as_str() {
        "application/x-www-form-urlencoded" => {
            let body = read_body(body, limit).await?;
            params.extend(parse_params(&body)?);
            let query = single(&params, "query")?;
            let update = single(&params, "update")?;
            match (query, update) {
                (Some(_), Some(_)) => Err(ApiError::bad_request("give either query or update, not both")),
                (Some(query), None) if accepts != Accepts::Update => {
                    run_query(&req, &state, &params, query).await
                }
                (None, Some(update)) if accepts != Accepts::Query => {
                    authorize_write(&req, &state)?;
                    run_update(&req, &state, &params, update).await
                }
                (None, None) => Err(ApiError::bad_request("the form has no query or update parameter")),
                _ => Err(ApiError::bad_request("this endpoint does not accept that operation")),
            }
        }
        "application/sparql-query" if accepts != Accepts::Update => {
            if has(&params, "query") || has(&params, "update") {
                return Err(ApiError::bad_request("the query is in the body; remove the query parameter"));
            }
            let query = utf8(read_body(body, limit).await?)?;
            run_query(&req, &state, &params, query).await
        }
        "application/sparql-update" if accepts != Accepts::Query => {
            authorize_write(&req, &state)?;
            if has(&params, "query") || has(&params, "update") {
                return Err(ApiError::bad_request("the update is in the body; remove the update parameter"));
            }
            let update = utf8(read_body(body, limit).await?)?;
            run_update(&req, &state, &params, update).await
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content type {content_type:?}; use application/x-www-form-urlencoded, {}",
                match accepts {
                    Accepts::Both => "application/sparql-query or application/sparql-update",
                    Accepts::Query => "or application/sparql-query",
                    Accepts::Update => "or application/sparql-update",
                }
            ),
        )),
    }
}

async fn run_query(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
    query: String,
) -> Result<HttpResponse, ApiError> {
    let default_graphs = iris(params, "default-graph-uri")?;
    let named_graphs = iris(params, "named-graph-uri")?;
    let accept = accept_of(req, params);
    let base = request_url(req);
    let store = state.store.clone();
    let max_rows = state.config.sparql.max_result_rows;
    let union_default_graph = state.config.sparql.union_default_graph;
    let budget = store.budget(state.config.query_timeout());
    let (tx, rx) = mpsc::channel::<Msg>(8);
    let task_budget = budget.clone();
    let running = crate::metrics::Running::new(&state.metrics);
    actix_web::rt::task::spawn_blocking(move || {
        let _running = running;
        let mut writer = ChannelWriter::new(tx);
        let request = QueryRequest {
            query: &query,
            base_iri: Some(&base),
            default_graphs,
            named_graphs,
            union_default_graph,
        };
        let results = match store.query(&request, &task_budget) {
            Ok(results) => results,
            Err(e) => return writer.fail(e.into()),
        };
        let chosen = match &results {
            QueryResults::Solutions(_) => negotiate::negotiate(accept.as_deref(), SOLUTION_FORMATS)
                .map(|(m, f)| (m, ResultsFormat::Sparql(f), oxigraph::io::RdfFormat::NTriples)),
            QueryResults::Boolean(_) => negotiate::negotiate(accept.as_deref(), BOOLEAN_FORMATS)
                .map(|(m, f)| (m, ResultsFormat::Sparql(f), oxigraph::io::RdfFormat::NTriples)),
            QueryResults::Graph(_) => negotiate::negotiate(accept.as_deref(), &graph_formats())
                .map(|(m, f)| (m, ResultsFormat::Table, f)),
        };
        let Some((media, format, graph_format)) = chosen else {
            return writer.fail(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                format!("no result format matches Accept: {}", accept.unwrap_or_default()),
            ));
        };
        if writer.start(content_type_of(media)).is_err() {
            return;
        }
        match write_results(results, format, graph_format, &mut writer, max_rows, &task_budget) {
            Ok(_) => {
                let _ = writer.finish();
            }
            Err(e) => writer.fail(e.into()),
        }
    });
    let result =
        respond(rx, StatusCode::OK, budget, true, req.conn_data::<crate::stream::ClientSocket>().cloned())
            .await;
    if let Err(e) = &result
        && e.status() == StatusCode::SERVICE_UNAVAILABLE
    {
        state.metrics.query_timeouts.fetch_add(1, Ordering::Relaxed);
    }
    result
}

async fn run_update(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
    update: String,
) -> Result<HttpResponse, ApiError> {
    let using_graphs = iris(params, "using-graph-uri")?;
    let using_named_graphs = iris(params, "using-named-graph-uri")?;
    let base = request_url(req);
    let store = state.store.clone();
    let budget = store.budget(state.config.query_timeout());
    let search = state.search.clone();
    let result = web::block(move || -> Result<(), sailkg_store::StoreError> {
        store.update(
            &UpdateRequest { update: &update, base_iri: Some(&base), using_graphs, using_named_graphs },
            &budget,
        )?;
        if let Some(search) = search {
            search.changed(crate::search::Reindex::Update { update, base: Some(base) });
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match result {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => {
            let error = ApiError::from(e);
            if error.status() == StatusCode::SERVICE_UNAVAILABLE {
                state.metrics.query_timeouts.fetch_add(1, Ordering::Relaxed);
            }
            Err(error)
        }
    }
}

/// Describes the endpoint (SPARQL 1.1 Service Description), answered to a GET without query.
fn service_description(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    const SD: &str = "http://www.w3.org/ns/sparql-service-description#";
    let sd = |local: &str| NamedNode::new_unchecked(format!("{SD}{local}"));
    let rdf_type = NamedNodeRef::new_unchecked("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
    let service = BlankNode::default();
    let endpoint = NamedNode::new(request_url(req)).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut triples = vec![
        Triple::new(service.clone(), rdf_type, sd("Service")),
        Triple::new(service.clone(), sd("endpoint"), endpoint),
        Triple::new(service.clone(), sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple::new(
            service.clone(),
            NamedNode::new_unchecked("http://purl.org/dc/terms/title"),
            Literal::new_simple_literal("SAIL-KG SPARQL endpoint"),
        ),
    ];
    if !state.config.server.read_only {
        triples.push(Triple::new(service.clone(), sd("supportedLanguage"), sd("SPARQL11Update")));
    }
    if state.config.sparql.union_default_graph {
        triples.push(Triple::new(service.clone(), sd("feature"), sd("UnionDefaultGraph")));
    }
    for format in [
        "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
        "http://www.w3.org/ns/formats/SPARQL_Results_XML",
        "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
        "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
        "http://www.w3.org/ns/formats/Turtle",
        "http://www.w3.org/ns/formats/N-Triples",
        "http://www.w3.org/ns/formats/RDF_XML",
        "http://www.w3.org/ns/formats/JSON-LD",
    ] {
        triples.push(Triple::new(service.clone(), sd("resultFormat"), NamedNode::new_unchecked(format)));
    }
    let params = parse_params(req.query_string().as_bytes())?;
    let accept = accept_of(req, &params);
    let (media, format) = negotiate::negotiate(accept.as_deref(), &graph_formats()).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_ACCEPTABLE, "the service description is available as RDF only")
    })?;
    let mut serializer = RdfSerializer::from_format(format).for_writer(Vec::new());
    for triple in &triples {
        serializer
            .serialize_triple(triple)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    }
    let body =
        serializer.finish().map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(HttpResponse::Ok().content_type(content_type_of(media)).body(body))
}

/// The `format` parameter, when present, wins over the `Accept` header.
fn accept_of(req: &HttpRequest, params: &Params) -> Option<String> {
    if let Some((_, name)) = params.iter().find(|(k, _)| k == "format") {
        return Some(negotiate::format_alias(name).map_or_else(|| name.clone(), str::to_owned));
    }
    req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

pub(crate) fn content_type_of(media: &'static str) -> &'static str {
    match media {
        "text/csv" => "text/csv; charset=utf-8",
        "text/tab-separated-values" => "text/tab-separated-values; charset=utf-8",
        "text/turtle" => "text/turtle; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        other => other,
    }
}

pub(crate) fn parse_params(bytes: &[u8]) -> Result<Params, ApiError> {
    let params: Params = form_urlencoded::parse(bytes).into_owned().collect();
    Ok(params)
}

fn has(params: &Params, key: &str) -> bool {
    params.iter().any(|(k, _)| k == key)
}

fn single(params: &Params, key: &str) -> Result<Option<String>, ApiError> {
    let mut values = params.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
    let first = values.next().cloned();
    if values.next().is_some() {
        return Err(ApiError::bad_request(format!("the {key} parameter is given more than once")));
    }
    Ok(first)
}

fn iris(params: &Params, key: &str) -> Result<Vec<NamedNode>, ApiError> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| {
            NamedNode::new(v.as_str())
                .map_err(|e| ApiError::bad_request(format!("{key} {v:?} is not an IRI: {e}")))
        })
        .collect()
}

fn utf8(body: Vec<u8>) -> Result<String, ApiError> {
    String::from_utf8(body).map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the body is not UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Reads a whole request body, refusing bodies over `limit` bytes with 413.
pub(crate) async fn read_body(mut body: web::Payload, limit: u64) -> Result<Vec<u8>, ApiError> {
    let mut data = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        if (data.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body exceeds {limit} bytes (server.max_request_bytes)"),
            ));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}
