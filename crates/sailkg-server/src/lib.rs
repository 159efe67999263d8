//! The SAIL-KG HTTP server (actix-web): SPARQL 1.1 Protocol, Graph Store Protocol, SQL, search,
//! reconciliation, generation jobs, service description, health, metrics and the embedded web
//! page.
//!
//! Only this crate knows HTTP. It owns request parsing, content negotiation, authentication,
//! limits and the mapping of errors to statuses; the store does the work.

mod catalog;
mod error;
mod gsp;
mod jobs;
mod metrics;
mod negotiate;
mod ontology;
mod reconcile;
mod search;
mod sparql;
mod sql;
mod stream;

pub use error::ApiError;
pub use jobs::{JobOutcome, JobProgress, JobRequest, ProgressFn, Runner};

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use sailkg_core::{Config, Role};
use sailkg_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) config: Arc<Config>,
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// Search, when its index opened.
    pub(crate) search: Option<search::Search>,
    /// The SQL session, shared by `/sql` and the PostgreSQL wire protocol.
    pub(crate) sql: Arc<datafusion::prelude::SessionContext>,
    /// Generation jobs.
    pub(crate) jobs: Arc<jobs::Jobs>,
}

/// A started server.
pub struct RunningServer {
    /// The addresses it listens on (the real port when the config asked for port 0).
    pub addrs: Vec<SocketAddr>,
    /// Stops it.
    pub handle: actix_web::dev::ServerHandle,
    /// Resolves when it has stopped.
    pub server: actix_web::dev::Server,
    /// Where the PostgreSQL wire protocol listens, if configured.
    pub pg_addr: Option<SocketAddr>,
}

/// Binds the server; run the returned future (`server.server.await`) to serve.
pub fn start(config: Config, store: Store) -> std::io::Result<RunningServer> {
    start_with_jobs(config, store, None)
}

/// Binds the server with generation jobs run by `runner` (`/api/generate`).
pub fn start_with_jobs(
    config: Config,
    store: Store,
    runner: Option<Runner>,
) -> std::io::Result<RunningServer> {
    let search = search::Search::start(&store);
    let indexer = search.clone();
    let jobs = jobs::Jobs::start(runner, move |graphs| {
        if let Some(search) = &indexer {
            search.changed(search::Reindex::Graphs(graphs.into_iter().map(Some).collect()));
        }
    });
    let sql = Arc::new(
        sailkg_sql::session(&store, config.query_timeout())
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    );
    let pg_addr = match config.sql.pg_bind {
        Some(bind) => Some(start_pg(bind, Arc::clone(&sql), &config)?),
        None => None,
    };
    let state = AppState {
        store,
        config: Arc::new(config.clone()),
        metrics: Arc::new(metrics::Metrics::default()),
        search,
        sql,
        jobs,
    };
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let server = HttpServer::new(move || app(state.clone()))
        .on_connect(stream::ClientSocket::on_connect)
        .workers(workers)
        .shutdown_timeout(config.server.shutdown_timeout_secs)
        .client_request_timeout(std::time::Duration::from_secs(60))
        .bind(config.server.bind)?;
    let addrs = server.addrs();
    let server = server.run();
    Ok(RunningServer { addrs, handle: server.handle(), server, pg_addr })
}

/// Binds the PostgreSQL wire protocol and serves it on a runtime of its own thread.
fn start_pg(
    bind: SocketAddr,
    sql: Arc<datafusion::prelude::SessionContext>,
    config: &Config,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(bind)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let limits = sailkg_sql::pg::PgLimits {
        timeout: config.query_timeout(),
        max_rows: usize::try_from(config.sparql.max_result_rows).unwrap_or(usize::MAX),
        max_connections: config.sql.pg_max_connections,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sailkg-pg")
        .enable_all()
        .build()?;
    std::thread::Builder::new().name("sailkg-pg".into()).spawn(move || {
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => return tracing::error!(error = %e, "cannot serve the PostgreSQL wire protocol"),
            };
            if let Err(e) = sailkg_sql::pg::serve(listener, sql, limits).await {
                tracing::error!(error = %e, "the PostgreSQL wire protocol stopped");
            }
        });
    })?;
    Ok(addr)
}

fn app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<EitherBody<BoxBody, BoxBody>>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = Arc::clone(&state.metrics);
    let cors = Arc::new(state.config.server.cors_origins.clone());
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::JsonConfig::default().limit(64 * 1024).error_handler(|error, _| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("the JSON body: {error}")).into()
        }))
        .wrap_fn(move |req, srv| {
            // CORS, closed unless origins are configured.
            let origin = req
                .headers()
                .get(header::ORIGIN)
                .and_then(|o| o.to_str().ok())
                .filter(|o| cors.iter().any(|allowed| allowed == o || allowed == "*"))
                .map(str::to_owned);
            let start = Instant::now();
            let method = req.method().to_string();
            let metrics = Arc::clone(&metrics);
            let next = match &origin {
                Some(origin) if req.method() == Method::OPTIONS => {
                    Next::Answered(req.into_response(preflight_response(origin)))
                }
                _ => Next::Call(srv.call(req)),
            };
            async move {
                let mut response = match next {
                    Next::Call(fut) => fut.await?.map_into_left_body(),
                    Next::Answered(response) => response.map_into_right_body(),
                };
                if let Some(origin) = origin {
                    let headers = response.headers_mut();
                    if let Ok(value) = header::HeaderValue::from_str(&origin) {
                        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                    }
                    headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
                }
                let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".into());
                metrics.record(&route, &method, response.status().as_u16(), start.elapsed());
                Ok(response)
            }
        })
        .configure(routes)
}

enum Next<F> {
    Call(F),
    Answered(ServiceResponse<BoxBody>),
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/sparql", "/sparql/"])
            .route(web::get().to(sparql::get_any))
            .route(web::post().to(sparql::post_any))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/query")
            .route(web::get().to(sparql::get_query))
            .route(web::post().to(sparql::post_query))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/update")
            .route(web::post().to(sparql::post_update))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(["/store", "/store/{tail:.*}"])
            .route(web::get().to(gsp::get))
            .route(web::head().to(gsp::head))
            .route(web::put().to(gsp::put))
            .route(web::post().to(gsp::post))
            .route(web::delete().to(gsp::delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/reconcile")
            .route(web::get().to(reconcile::service))
            .route(web::post().to(reconcile::service))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/reconcile/suggest/{kind}", web::get().to(reconcile::suggest))
    .service(
        web::resource("/sql").route(web::post().to(sql::post)).default_service(web::to(method_not_allowed)),
    )
    .route("/search", web::get().to(search::search))
    .route("/search/suggest", web::get().to(search::suggest))
    .route("/reconcile/preview", web::get().to(reconcile::preview))
    .service(
        web::resource("/api/generate")
            .route(web::post().to(jobs::submit))
            .route(web::get().to(jobs::list))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/api/generate/{id}", web::get().to(jobs::status))
    .route("/api/catalog", web::get().to(catalog::list))
    .route("/api/catalog/{dataset}", web::get().to(catalog::dataset))
    .route("/api/runs/{run}/{file}", web::get().to(catalog::report))
    .route("/api/ontology", web::get().to(ontology::trees))
    .route("/api/ontology/entity", web::get().to(ontology::entity))
    .route("/api/ontology/search", web::get().to(ontology::search))
    .route("/api/ontology/export", web::get().to(ontology::export))
    .service(
        web::resource("/api/ontology/changesets")
            // Imports carry whole documents.
            .app_data(web::JsonConfig::default().limit(8 << 20).error_handler(|error, _| {
                ApiError::new(StatusCode::BAD_REQUEST, format!("the JSON body: {error}")).into()
            }))
            .route(web::post().to(ontology::propose))
            .route(web::get().to(ontology::changesets))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/api/ontology/changesets/{id}", web::get().to(ontology::changeset))
    .service(
        web::resource("/api/ontology/changesets/{id}/{action}")
            .route(web::post().to(ontology::decide))
            .default_service(web::to(method_not_allowed)),
    )
    .route("/openapi.json", web::get().to(catalog::openapi))
    .route("/health", web::get().to(health))
    .route("/metrics", web::get().to(metrics_page))
    .route("/", web::get().to(index))
    .route("/assets/{file}", web::get().to(asset));
}

fn preflight_response(origin: &str) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    if let Ok(value) = header::HeaderValue::from_str(origin) {
        response.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value));
    }
    response
        .insert_header((header::VARY, "Origin"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, POST, PUT, DELETE"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type, Accept"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .finish()
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not allowed on {}", req.method(), req.path()),
    ))
}

/// The request's `Authorization: Bearer <token>`.
pub(crate) fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "writes need an Authorization: Bearer <token> header with a token of a role that may write",
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "the Authorization header must be Bearer <token>")
        })
}

/// Checks that the request may write: the server is writable and it carries an admin token.
pub(crate) fn authorize_write(req: &HttpRequest, state: &AppState) -> Result<Role, ApiError> {
    if state.config.server.read_only {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "the server is read-only; writes are refused"));
    }
    let token = bearer(req)?;
    match state.config.role_of_token(token) {
        None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token")),
        Some(role) if role.can_write_store() => Ok(role),
        Some(role) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the {} role may not change the store directly", role.as_str()),
        )),
    }
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "read_only": state.config.server.read_only,
    }))
}

async fn metrics_page(state: web::Data<AppState>) -> HttpResponse {
    let bytes = state.store.disk_size();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(bytes))
}

/// The web page: a shell and its script and style, all embedded in the binary.
async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .body(include_str!("../../../web/index.html"))
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (body, content_type) = match file.as_str() {
        "app.js" => (include_str!("../../../web/app.js"), "text/javascript; charset=utf-8"),
        "app.css" => (include_str!("../../../web/app.css"), "text/css; charset=utf-8"),
        other => return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no asset {other:?}"))),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body))
}

/// The absolute URL of the request without its query string: the base IRI of operations and the
/// IRI of directly identified graphs.
pub(crate) fn request_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}{}", info.scheme(), info.host(), req.path())
}
