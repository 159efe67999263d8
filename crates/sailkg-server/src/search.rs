//! Search over HTTP: `GET /search` and `GET /search/suggest`, and the indexer thread that keeps
//! the index in step with writes made through the server (SPARQL updates, Graph Store writes)
//! without holding those writes up. Hits are checked against the store before they are served,
//! so an entity deleted a moment ago is never returned while the indexer catches up.

use crate::AppState;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sailkg_search::{FACETS, Hit, SearchIndex, SearchQuery};
use sailkg_store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

/// What the indexer must bring up to date.
pub(crate) enum Reindex {
    /// These graphs (`None`: the default graph).
    Graphs(Vec<Option<String>>),
    /// Whatever this update touched.
    Update { update: String, base: Option<String> },
    /// Everything.
    All,
}

/// The search index with its indexer thread.
#[derive(Clone)]
pub(crate) struct Search {
    pub index: Arc<SearchIndex>,
    sender: Sender<Reindex>,
}

impl Search {
    /// Opens the index of the store's data directory and starts the indexer; an empty index of
    /// a non-empty store is built first, in the background.
    pub fn start(store: &Store) -> Option<Self> {
        let index = match SearchIndex::open(&store.data_dir().join("index")) {
            Ok(index) => Arc::new(index),
            Err(e) => {
                tracing::warn!("search is off: {e}");
                return None;
            }
        };
        store.register_service(
            oxigraph::model::NamedNode::new_unchecked(sailkg_search::SEARCH_SERVICE),
            sailkg_search::sparql_service(Arc::clone(&index)),
        );
        let (sender, receiver) = std::sync::mpsc::channel();
        let worker_index = Arc::clone(&index);
        let worker_store = store.clone();
        std::thread::Builder::new()
            .name("sailkg-indexer".into())
            .spawn(move || indexer(&worker_index, &worker_store, &receiver))
            .ok()?;
        if index.is_empty() && !store.is_empty().unwrap_or(true) {
            let _ = sender.send(Reindex::All);
        }
        Some(Self { index, sender })
    }

    /// Asks the indexer to catch up; never blocks.
    pub fn changed(&self, change: Reindex) {
        let _ = self.sender.send(change);
    }
}

/// Applies changes as they come, several at once when they queue up.
fn indexer(index: &SearchIndex, store: &Store, receiver: &Receiver<Reindex>) {
    while let Ok(first) = receiver.recv() {
        let mut everything = false;
        let mut graphs: Vec<Option<String>> = Vec::new();
        for change in std::iter::once(first).chain(receiver.try_iter()) {
            let touched = match change {
                Reindex::Graphs(g) => Some(g),
                Reindex::Update { update, base } => sailkg_search::graphs_touched(&update, base.as_deref()),
                Reindex::All => None,
            };
            match touched {
                Some(g) => graphs.extend(g),
                None => everything = true,
            }
        }
        graphs.sort();
        graphs.dedup();
        let result = if everything { index.rebuild(store) } else { index.sync(store, &graphs) };
        match result {
            Ok(report) => {
                tracing::debug!(documents = report.documents, graphs = report.graphs, "search index synced")
            }
            Err(e) => tracing::warn!("search index sync failed: {e}; `sailkg index rebuild` recovers"),
        }
    }
}

fn params(req: &HttpRequest) -> HashMap<String, String> {
    form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect()
}

fn unavailable() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "search is not available (see the server log)")
}

/// Drops hits whose entity is no longer in its graph.
fn still_there(store: &Store, hits: Vec<Hit>) -> Vec<Hit> {
    hits.into_iter()
        .filter(|hit| {
            let Ok(subject) = oxigraph::model::NamedNode::new(hit.id.as_str()) else { return false };
            let graph = if hit.graph.is_empty() {
                oxigraph::model::GraphName::DefaultGraph
            } else {
                match oxigraph::model::NamedNode::new(hit.graph.as_str()) {
                    Ok(g) => g.into(),
                    Err(_) => return false,
                }
            };
            store
                .oxigraph()
                .quads_for_pattern(Some(subject.as_ref().into()), None, None, Some(graph.as_ref()))
                .next()
                .is_some()
        })
        .collect()
}

/// `GET /search?q=&kind=&source=&class=&format=&language=&synthetic=&page=&size=`.
pub(crate) async fn search(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let search = state.search.clone().ok_or_else(unavailable)?;
    let params = params(&req);
    let text = params.get("q").cloned().unwrap_or_default();
    if text.chars().count() > 1000 {
        return Err(ApiError::bad_request("q is at most 1000 characters"));
    }
    let filters: Vec<(String, String)> =
        FACETS.iter().filter_map(|f| params.get(*f).map(|v| ((*f).to_owned(), v.clone()))).collect();
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ApiError::bad_request(format!("{name} must be a number"))),
        }
    };
    let query =
        SearchQuery { text, filters, page: number("page", 0)?, size: number("size", 10)?.clamp(1, 100) };
    let store = state.store.clone();
    let results = web::block(move || {
        search.index.search(&query).map(|mut r| {
            r.hits = still_there(&store, r.hits);
            r
        })
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(HttpResponse::Ok().json(results))
}

/// `GET /search/suggest?q=`: typeahead.
pub(crate) async fn suggest(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let search = state.search.clone().ok_or_else(unavailable)?;
    let prefix = params(&req).get("q").cloned().unwrap_or_default();
    if prefix.chars().count() > 200 {
        return Err(ApiError::bad_request("q is at most 200 characters"));
    }
    let store = state.store.clone();
    let hits = web::block(move || search.index.suggest(&prefix, 10).map(|hits| still_there(&store, hits)))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "result": hits })))
}
