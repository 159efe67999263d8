//! The PostgreSQL wire protocol over the session (the `datafusion-postgres` crate, on pgwire),
//! so psql, DBeaver and BI tools connect. Read-only: a statement that would write or change the
//! shared session is refused before it is planned; queries run with the SPARQL timeout (a
//! client may lower it with `SET statement_timeout`, never raise it or turn it off) and row
//! limit. Simple queries (psql) past the row limit fail with an error; extended-protocol queries
//! (JDBC and most drivers) are cut at the limit, because that protocol plans before it runs.

use crate::{SqlError, collect_limited, read_only};
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire::api::auth::noop::NoopStartupHandler;
use datafusion_postgres::pgwire::api::cancel::DefaultCancelHandler;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::api::{ClientInfo, ConnectionManager, PgWireServerHandlers};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use datafusion_postgres::pgwire::types::format::FormatOptions;
use datafusion_postgres::{DfSessionService, QueryHook};
use futures::Sink;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Where the client's `statement_timeout` lives (the key `datafusion-postgres` reads).
const TIMEOUT_KEY: &str = "statement_timeout_ms";

/// What every connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct PgLimits {
    /// The longest a statement may run.
    pub timeout: Duration,
    /// The most rows a result may have.
    pub max_rows: usize,
    /// The most connections at once.
    pub max_connections: usize,
}

/// Serves `ctx` on `listener` until the task is dropped. Adds the `pg_catalog` schema and the
/// functions clients query at connect time to the session.
pub async fn serve(listener: TcpListener, ctx: Arc<SessionContext>, limits: PgLimits) -> std::io::Result<()> {
    datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog(
        &ctx,
        crate::CATALOG,
        datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider,
    )
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    let hooks: Vec<Arc<dyn QueryHook>> = vec![
        Arc::new(Guard { limits }),
        Arc::new(CursorStatementHook),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
    ];
    let connections = Arc::new(ConnectionManager::new());
    let handlers = Arc::new(Handlers {
        service: Arc::new(DfSessionService::new_with_hooks(ctx, hooks)),
        startup: Arc::new(Startup { connections: Arc::clone(&connections), limits }),
        cancel: Arc::new(DefaultCancelHandler::new(connections)),
    });
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a PostgreSQL connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "PostgreSQL connection turned away: too many");
            continue;
        };
        let handlers = Arc::clone(&handlers);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = datafusion_postgres::pgwire::tokio::process_socket(socket, None, handlers).await {
                tracing::debug!(%peer, error = %e, "PostgreSQL connection ended with an error");
            }
        });
    }
}

struct Handlers {
    service: Arc<DfSessionService>,
    startup: Arc<Startup>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.service)
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.service)
    }

    fn startup_handler(&self) -> Arc<impl datafusion_postgres::pgwire::api::auth::StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn cancel_handler(&self) -> Arc<impl datafusion_postgres::pgwire::api::cancel::CancelHandler> {
        Arc::clone(&self.cancel)
    }
}

/// No password (the connection is read-only); every connection starts with the timeout.
struct Startup {
    connections: Arc<ConnectionManager>,
    limits: PgLimits,
}

#[async_trait]
impl NoopStartupHandler for Startup {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(Arc::clone(&self.connections))
    }

    async fn post_startup<C>(&self, client: &mut C, _message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.metadata_mut().insert(TIMEOUT_KEY.to_owned(), self.limits.timeout.as_millis().to_string());
        Ok(())
    }
}

/// Refuses what would write, caps the timeout, and runs simple queries within the limits.
struct Guard {
    limits: PgLimits,
}

fn error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message.into())))
}

impl Guard {
    /// `Some(error)` if the statement may not run here.
    fn check(&self, statement: &Statement) -> Option<PgWireError> {
        if !allowed(statement) {
            let verb = statement.to_string().split_whitespace().next().unwrap_or("").to_uppercase();
            return Some(error(
                "25006",
                format!(
                    "{verb} is not allowed: SQL in SAIL-KG is read-only (change data through ingest, map, link or SPARQL update)"
                ),
            ));
        }
        if let Statement::Set(_) = statement {
            let text = statement.to_string().to_lowercase();
            if text.contains("datafusion.") {
                return Some(error(
                    "25006",
                    "engine settings are shared by every connection and cannot be changed",
                ));
            }
            if let Some(at) = text.find("statement_timeout") {
                let cap = self.limits.timeout.as_millis();
                return match parse_timeout(&text[at + "statement_timeout".len()..]) {
                    Some(ms) if ms > 0 && ms <= cap => None,
                    _ => Some(error("22023", format!("statement_timeout must be between 1ms and {cap}ms"))),
                };
            }
        }
        None
    }

    fn timeout(&self, client: &dyn ClientInfo) -> Duration {
        client
            .metadata()
            .get(TIMEOUT_KEY)
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .map_or(self.limits.timeout, |t| t.min(self.limits.timeout))
    }
}

/// `= 5000`, `TO '5s'`, `= '2min'`: milliseconds (PostgreSQL's unit when none is given).
fn parse_timeout(text: &str) -> Option<u128> {
    let text = text.trim_start().trim_start_matches('=').trim_start();
    let text = text.strip_prefix("to").unwrap_or(text).trim().trim_matches(['\'', '"']).trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let value: u128 = text[..digits].parse().ok()?;
    match text[digits..].trim() {
        "" | "ms" => Some(value),
        "s" => Some(value * 1000),
        "min" => Some(value * 60_000),
        "h" => Some(value * 3_600_000),
        _ => None,
    }
}

/// Statements that only read, and session-local statements other hooks answer.
fn allowed(statement: &Statement) -> bool {
    match statement {
        Statement::Explain { statement, .. } => allowed(statement),
        Statement::Query(_)
        | Statement::ExplainTable { .. }
        | Statement::Set(_)
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowViews { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. }
        | Statement::Discard { .. }
        | Statement::Deallocate { .. } => true,
        _ => false,
    }
}

fn sql_error(e: SqlError) -> PgWireError {
    match e {
        SqlError::Timeout(_) => error("57014", "canceling statement due to statement timeout"),
        e @ SqlError::TooManyRows(_) => error("54000", e.to_string()),
        e if e.is_user_error() => error("42000", e.to_string()),
        e => error("XX000", e.to_string()),
    }
}

#[async_trait]
impl QueryHook for Guard {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(refused) = self.check(statement) {
            return Some(Err(refused));
        }
        if !matches!(statement, Statement::Query(_)) {
            return None;
        }
        let timeout = self.timeout(client);
        let sql = statement.to_string();
        let work = async {
            let frame = ctx.sql_with_options(&sql, read_only()).await?;
            let schema = Arc::new(frame.schema().as_arrow().clone());
            let batches = collect_limited(frame, self.limits.max_rows).await?;
            Ok::<_, SqlError>((schema, batches))
        };
        let (schema, batches) = match tokio::time::timeout(timeout, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => return Some(Err(sql_error(e))),
            Err(_) => return Some(Err(sql_error(SqlError::Timeout(timeout.as_secs())))),
        };
        let result = async {
            let table =
                MemTable::try_new(schema, vec![batches]).map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            let frame = ctx.read_table(Arc::new(table)).map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
            encode_dataframe(frame, &Format::UnifiedText, Some(options)).await.map(Response::Query)
        };
        Some(result.await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        if let Some(refused) = self.check(statement) {
            return Some(Err(refused));
        }
        if !matches!(statement, Statement::Query(_)) {
            return None;
        }
        let plan = async {
            let plan =
                ctx.state().statement_to_plan(DfStatement::Statement(Box::new(statement.clone()))).await?;
            read_only().verify_plan(&plan)?;
            LogicalPlanBuilder::from(plan).limit(0, Some(self.limits.max_rows))?.build()
        };
        Some(plan.await.map_err(|e| error("42000", e.to_string())))
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_postgres() {
        assert_eq!(parse_timeout(" = 5000"), Some(5000));
        assert_eq!(parse_timeout(" to '5s'"), Some(5000));
        assert_eq!(parse_timeout(" = '2min'"), Some(120_000));
        assert_eq!(parse_timeout(" = 0"), Some(0));
        assert_eq!(parse_timeout(" = 'soon'"), None);
    }
}
