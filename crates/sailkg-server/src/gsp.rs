//! The SPARQL 1.1 Graph Store HTTP Protocol at `/store`.
//!
//! Graphs are named indirectly (`?graph=IRI`, `?default`) or directly (`/store/some/path` names
//! the graph whose IRI is that URL). Uploads stream through the store's bulk loader, so memory
//! does not grow with the upload, and apply all or nothing.

use crate::error::ApiError;
use crate::negotiate::{self, graph_formats, rdf_format_of_content_type};
use crate::sparql::{content_type_of, parse_params, read_body};
use crate::stream::{ChannelReader, ChannelWriter, Msg, respond};
use crate::{AppState, authorize_write, request_url};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::StreamExt;
use oxigraph::model::{GraphName, NamedNode};
use sailkg_store::{LoadInput, Store, maybe_gunzip};
use std::io;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// Uploads smaller than this go through one in-memory transaction instead of the bulk loader.
const SMALL_UPLOAD: u64 = 4 << 20;

/// Which graph a request addresses.
enum Target {
    Graph(GraphName),
    /// `POST /store` without a graph: create a new graph.
    NewGraph,
}

fn target(req: &HttpRequest) -> Result<Target, ApiError> {
    let params = parse_params(req.query_string().as_bytes())?;
    let graph = params.iter().filter(|(k, _)| k == "graph").map(|(_, v)| v).collect::<Vec<_>>();
    let default = params.iter().any(|(k, _)| k == "default");
    let tail = req.match_info().get("tail").unwrap_or("");
    match (graph.as_slice(), default, tail.is_empty()) {
        ([], false, true) => Ok(Target::NewGraph),
        ([], true, true) => Ok(Target::Graph(GraphName::DefaultGraph)),
        ([iri], false, true) => NamedNode::new(iri.as_str())
            .map(|n| Target::Graph(n.into()))
            .map_err(|e| ApiError::bad_request(format!("graph {iri:?} is not an IRI: {e}"))),
        ([], false, false) => NamedNode::new(request_url(req))
            .map(|n| Target::Graph(n.into()))
            .map_err(|e| ApiError::bad_request(format!("the request URL is not a valid graph IRI: {e}"))),
        _ => Err(ApiError::bad_request("name one graph: ?graph=IRI, ?default, or a path under /store/")),
    }
}

fn existing_graph(req: &HttpRequest) -> Result<GraphName, ApiError> {
    match target(req)? {
        Target::Graph(graph) => Ok(graph),
        Target::NewGraph => Err(ApiError::bad_request("name a graph with ?graph=IRI or ?default")),
    }
}

pub(crate) async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    read_graph(req, state, true).await
}

pub(crate) async fn head(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    read_graph(req, state, false).await
}

async fn read_graph(
    req: HttpRequest,
    state: web::Data<AppState>,
    include_body: bool,
) -> Result<HttpResponse, ApiError> {
    let graph = existing_graph(&req)?;
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let accept = parse_params(req.query_string().as_bytes())?
        .into_iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| negotiate::format_alias(&v).map_or(v, str::to_owned))
        .or(accept);
    let offers = graph_formats();
    let (media, format) = negotiate::negotiate(accept.as_deref(), &offers).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_ACCEPTABLE, "no RDF format matches the Accept header")
    })?;
    let store = state.store.clone();
    if !graph_existed(&store, &graph).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("there is no graph {graph}")));
    }
    let budget = store.budget(state.config.query_timeout());
    let (tx, rx) = mpsc::channel::<Msg>(8);
    actix_web::rt::task::spawn_blocking(move || {
        let mut writer = ChannelWriter::new(tx);
        if writer.start(content_type_of(media)).is_err() {
            return;
        }
        match store.dump_graph(graph.as_ref(), format, &mut writer) {
            Ok(()) => {
                let _ = writer.finish();
            }
            Err(e) => writer.fail(e.into()),
        }
    });
    respond(rx, StatusCode::OK, budget, include_body, req.conn_data::<crate::stream::ClientSocket>().cloned())
        .await
}

pub(crate) async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize_write(&req, &state)?;
    let graph = existing_graph(&req)?;
    upload(&req, &state, body, graph, true).await
}

pub(crate) async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize_write(&req, &state)?;
    match target(&req)? {
        Target::Graph(graph) => upload(&req, &state, body, graph, false).await,
        Target::NewGraph => {
            let base = request_url(&req);
            let iri = format!("{}/{}", base.trim_end_matches('/'), new_graph_id());
            let graph = NamedNode::new(iri.clone()).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let mut response = upload(&req, &state, body, graph.into(), false).await?;
            *response.status_mut() = StatusCode::CREATED;
            if let Ok(value) = header::HeaderValue::from_str(&iri) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        }
    }
}

pub(crate) async fn delete(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize_write(&req, &state)?;
    let graph = existing_graph(&req)?;
    let store = state.store.clone();
    let target = graph.clone();
    let found = web::block(move || -> Result<bool, sailkg_store::StoreError> {
        if !store.graph_exists(target.as_ref())? {
            return Ok(false);
        }
        store.drop_graph(target.as_ref())?;
        Ok(true)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    if found {
        reindex(&state, &graph);
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "there is no such graph"))
    }
}

/// Loads the body into `graph`, replacing it when `replace`. Answers 201 when the graph is new.
async fn upload(
    req: &HttpRequest,
    state: &AppState,
    mut body: web::Payload,
    graph: GraphName,
    replace: bool,
) -> Result<HttpResponse, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(boundary) = multipart_boundary(content_type) {
        return upload_multipart(req, state, body, graph, replace, boundary).await;
    }
    let format = rdf_format_of_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content type {content_type:?}; send text/turtle, application/n-triples, application/n-quads, application/trig, application/rdf+xml or application/ld+json"),
        )
    })?;
    let encoding =
        req.headers().get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    if !matches!(encoding, "identity" | "gzip" | "x-gzip") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content encoding {encoding} is not supported; use gzip or none"),
        ));
    }
    let limit = state.config.server.max_upload_bytes;
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|l| l > limit) {
        return Err(too_large(limit));
    }
    let base_iri = base_iri(req, &graph);
    let store = state.store.clone();
    let existed = graph_existed(&store, &graph).await?;
    let report = if length.is_some_and(|l| l <= SMALL_UPLOAD) {
        let data = read_body(body, SMALL_UPLOAD.min(limit)).await?;
        let graph = graph.clone();
        web::block(move || {
            let reader = maybe_gunzip(Box::new(io::Cursor::new(data)))
                .map_err(|source| sailkg_store::StoreError::Io { path: "upload".into(), source })?;
            store.load_small(
                vec![LoadInput { name: "upload".into(), format, reader, base_iri }],
                &graph,
                replace,
            )
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??
    } else {
        let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(16);
        let graph = graph.clone();
        let task = actix_web::rt::task::spawn_blocking(move || {
            let reader = maybe_gunzip(Box::new(ChannelReader::new(rx)))
                .map_err(|source| sailkg_store::StoreError::Io { path: "upload".into(), source })?;
            let input = LoadInput { name: "upload".into(), format, reader, base_iri };
            let target = graph.clone();
            store.bulk_load_with(vec![input], &graph, None, move |store: &Store| {
                if replace {
                    store.drop_graph(target.as_ref())?;
                }
                if let GraphName::NamedNode(name) = &target {
                    store.create_graph(name.as_ref())?;
                }
                Ok(())
            })
        });
        let mut received = 0u64;
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    received += chunk.len() as u64;
                    if received > limit {
                        failure = Some(too_large(limit));
                        let _ = tx.send(Err(io::Error::other("upload too large"))).await;
                        break;
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        break; // The loader stopped early; its error is reported below.
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(format!("upload interrupted: {e}")))).await;
                    failure = Some(ApiError::bad_request(format!("cannot read the upload: {e}")));
                    break;
                }
            }
        }
        drop(tx);
        let result =
            task.await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        result?
    };
    state.metrics.triples_loaded.fetch_add(report.triples, Ordering::Relaxed);
    reindex(state, &graph);
    Ok(if existed { HttpResponse::NoContent().finish() } else { HttpResponse::Created().finish() })
}

/// Tells the search indexer that `graph` changed.
fn reindex(state: &AppState, graph: &GraphName) {
    if let Some(search) = &state.search {
        let name = match graph {
            GraphName::NamedNode(n) => Some(n.as_str().to_owned()),
            _ => None,
        };
        search.changed(crate::search::Reindex::Graphs(vec![name]));
    }
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// A `multipart/form-data` upload: every part is an RDF document, all merged into the graph in
/// one transaction (the Graph Store Protocol's form upload).
async fn upload_multipart(
    req: &HttpRequest,
    state: &AppState,
    body: web::Payload,
    graph: GraphName,
    replace: bool,
    boundary: String,
) -> Result<HttpResponse, ApiError> {
    let data = read_body(
        body,
        SMALL_UPLOAD.max(state.config.server.max_request_bytes).min(state.config.server.max_upload_bytes),
    )
    .await?;
    let base_iri = base_iri(req, &graph);
    let mut inputs = Vec::new();
    for (index, (headers, content)) in split_multipart(&data, &boundary)?.into_iter().enumerate() {
        let mut part_type = None;
        let mut file_name = None;
        for line in headers.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            if name.trim().eq_ignore_ascii_case("content-type") {
                part_type = Some(value.trim().to_owned());
            } else if name.trim().eq_ignore_ascii_case("content-disposition") {
                file_name = value
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("filename=").map(|f| f.trim_matches('"').to_owned()));
            }
        }
        let format = part_type
            .as_deref()
            .and_then(rdf_format_of_content_type)
            .or_else(|| file_name.as_deref().and_then(sailkg_store::detect_format))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("part {} has no RDF content type or file name", index + 1),
                )
            })?;
        inputs.push(LoadInput {
            name: file_name.unwrap_or_else(|| format!("part {}", index + 1)),
            format,
            reader: Box::new(io::Cursor::new(content)),
            base_iri: base_iri.clone(),
        });
    }
    let store = state.store.clone();
    let existed = graph_existed(&store, &graph).await?;
    let target = graph.clone();
    let report = web::block(move || store.load_small(inputs, &target, replace))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    state.metrics.triples_loaded.fetch_add(report.triples, Ordering::Relaxed);
    reindex(state, &graph);
    Ok(if existed { HttpResponse::NoContent().finish() } else { HttpResponse::Created().finish() })
}

/// Splits a multipart body into (headers, content) pairs.
fn split_multipart(data: &[u8], boundary: &str) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let delimiter = format!("--{boundary}");
    let malformed = || ApiError::bad_request("malformed multipart/form-data body");
    let mut parts = Vec::new();
    let mut rest = data;
    let start = find(rest, delimiter.as_bytes()).ok_or_else(malformed)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest.strip_prefix(b"\r\n").or_else(|| rest.strip_prefix(b"\n")).ok_or_else(malformed)?;
        let end = find(rest, delimiter.as_bytes()).ok_or_else(malformed)?;
        let part = &rest[..end];
        let part = part.strip_suffix(b"\r\n").or_else(|| part.strip_suffix(b"\n")).unwrap_or(part);
        let (head, content) = match find(part, b"\r\n\r\n") {
            Some(i) => (&part[..i], &part[i + 4..]),
            None => {
                let i = find(part, b"\n\n").ok_or_else(malformed)?;
                (&part[..i], &part[i + 2..])
            }
        };
        parts.push((String::from_utf8_lossy(head).into_owned(), content.to_vec()));
        rest = &rest[end + delimiter.len()..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Relative IRIs of an upload resolve against the graph's IRI, or the request URL for the
/// default graph.
fn base_iri(req: &HttpRequest, graph: &GraphName) -> Option<String> {
    match graph {
        GraphName::NamedNode(n) => Some(n.as_str().to_owned()),
        _ => Some(request_url(req)),
    }
}

/// Whether the graph exists (before an upload: it decides between 201 and 204).
async fn graph_existed(store: &Store, graph: &GraphName) -> Result<bool, ApiError> {
    let (store, graph) = (store.clone(), graph.clone());
    web::block(move || store.graph_exists(graph.as_ref()))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the upload exceeds {limit} bytes (server.max_upload_bytes)"),
    )
}

fn new_graph_id() -> String {
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}
