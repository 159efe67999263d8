//! The `sailkg.toml` configuration: typed settings, their defaults and `SAILKG_*` overrides.
//!
//! Unknown keys are errors that name the key and its line, so a typo never silently falls back to
//! a default. Environment variables override the file; the command line overrides both.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors while reading the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration file is not valid, for example it has an unknown key.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An environment override has a value of the wrong type.
    #[error("invalid value {value:?} in environment variable {var}: {expected}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The settings are individually valid but inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// All settings of SAIL-KG.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The data directory: store, tables, index and run records.
    pub data_dir: PathBuf,
    /// The HTTP server.
    pub server: ServerConfig,
    /// SPARQL query and update evaluation.
    pub sparql: SparqlConfig,
    /// Bulk loading.
    pub load: LoadConfig,
    /// Bearer tokens and their roles.
    pub auth: AuthConfig,
    /// SQL over HTTP and the PostgreSQL wire protocol.
    pub sql: SqlConfig,
}

/// Settings of SQL. Statements share the SPARQL timeout and row limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlConfig {
    /// Where `sailkg serve` answers the PostgreSQL wire protocol; none: not at all.
    pub pg_bind: Option<SocketAddr>,
    /// The most PostgreSQL connections at once; more are turned away.
    pub pg_max_connections: usize,
}

impl Default for SqlConfig {
    fn default() -> Self {
        Self { pg_bind: None, pg_max_connections: 64 }
    }
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// Refuse every write.
    pub read_only: bool,
    /// Number of HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest query or update request body, in bytes.
    pub max_request_bytes: u64,
    /// Largest Graph Store Protocol upload, in bytes (uploads stream to disk, not to memory).
    pub max_upload_bytes: u64,
    /// Origins allowed by CORS; empty means no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Seconds to wait for in-flight requests on shutdown.
    pub shutdown_timeout_secs: u64,
}

/// Settings of SPARQL evaluation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SparqlConfig {
    /// A query or update running longer than this is cancelled.
    pub timeout_secs: u64,
    /// The most rows (or triples) one query may return.
    pub max_result_rows: u64,
    /// Use the union of all graphs as the default graph of queries.
    pub union_default_graph: bool,
}

/// Settings of the bulk loader.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadConfig {
    /// Rough memory budget of a bulk load, in MiB (RocksDB's own caches come on top).
    pub max_memory_mb: usize,
    /// Threads used by a bulk load; 0 means one per core.
    pub threads: usize,
}

/// Bearer tokens.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Tokens and the role each grants.
    pub tokens: Vec<TokenConfig>,
}

/// One bearer token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs; never the token itself.
    pub name: String,
    /// The secret sent as `Authorization: Bearer <token>`.
    pub token: String,
    /// What the token may do.
    pub role: Role,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenConfig")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// What a token may do. Reads need no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads, and is known by name (for deployments that hand every person a token).
    Reader,
    /// Proposes ontology changes.
    Curator,
    /// Reviews and approves ontology changes.
    Reviewer,
    /// Everything, including raw SPARQL updates and Graph Store writes.
    Admin,
}

impl Role {
    /// Whether the role may change the store directly (SPARQL update, Graph Store writes).
    pub fn can_write_store(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// The role's name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Curator => "curator",
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./sailkg-data"),
            server: ServerConfig::default(),
            sparql: SparqlConfig::default(),
            load: LoadConfig::default(),
            auth: AuthConfig::default(),
            sql: SqlConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 7878)),
            read_only: false,
            workers: 0,
            max_request_bytes: 10 << 20,
            max_upload_bytes: 64 << 30,
            cors_origins: Vec::new(),
            shutdown_timeout_secs: 10,
        }
    }
}

impl Default for SparqlConfig {
    fn default() -> Self {
        Self { timeout_secs: 30, max_result_rows: 10_000_000, union_default_graph: false }
    }
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self { max_memory_mb: 256, threads: 0 }
    }
}

/// The environment variables that override settings, with what each sets.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("SAILKG_DATA", "data_dir"),
    ("SAILKG_BIND", "server.bind"),
    ("SAILKG_READ_ONLY", "server.read_only"),
    ("SAILKG_WORKERS", "server.workers"),
    ("SAILKG_MAX_REQUEST_BYTES", "server.max_request_bytes"),
    ("SAILKG_MAX_UPLOAD_BYTES", "server.max_upload_bytes"),
    ("SAILKG_CORS_ORIGINS", "server.cors_origins (comma-separated)"),
    ("SAILKG_QUERY_TIMEOUT_SECS", "sparql.timeout_secs"),
    ("SAILKG_MAX_RESULT_ROWS", "sparql.max_result_rows"),
    ("SAILKG_UNION_DEFAULT_GRAPH", "sparql.union_default_graph"),
    ("SAILKG_LOAD_MAX_MEMORY_MB", "load.max_memory_mb"),
    ("SAILKG_LOAD_THREADS", "load.threads"),
    ("SAILKG_PG_BIND", "sql.pg_bind"),
    ("SAILKG_ADMIN_TOKEN", "an admin token named \"env\" added to auth.tokens"),
];

impl Config {
    /// Parses a configuration from TOML text; `path` only names the source in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Reads the configuration file if given, then applies the environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                Self::from_toml(&text, path)?
            }
            None => Self::default(),
        };
        config.apply_env(|var| std::env::var(var).ok())?;
        config.check()?;
        Ok(config)
    }

    /// Applies `SAILKG_*` overrides read through `get`, so tests need not touch the process
    /// environment.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("SAILKG_DATA") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("SAILKG_BIND") {
            self.server.bind = parse_env("SAILKG_BIND", v, "an address such as 127.0.0.1:7878")?;
        }
        if let Some(v) = get("SAILKG_READ_ONLY") {
            self.server.read_only = parse_bool("SAILKG_READ_ONLY", v)?;
        }
        if let Some(v) = get("SAILKG_WORKERS") {
            self.server.workers = parse_env("SAILKG_WORKERS", v, "a whole number")?;
        }
        if let Some(v) = get("SAILKG_MAX_REQUEST_BYTES") {
            self.server.max_request_bytes = parse_env("SAILKG_MAX_REQUEST_BYTES", v, "a number of bytes")?;
        }
        if let Some(v) = get("SAILKG_MAX_UPLOAD_BYTES") {
            self.server.max_upload_bytes = parse_env("SAILKG_MAX_UPLOAD_BYTES", v, "a number of bytes")?;
        }
        if let Some(v) = get("SAILKG_CORS_ORIGINS") {
            self.server.cors_origins =
                v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        }
        if let Some(v) = get("SAILKG_QUERY_TIMEOUT_SECS") {
            self.sparql.timeout_secs = parse_env("SAILKG_QUERY_TIMEOUT_SECS", v, "a number of seconds")?;
        }
        if let Some(v) = get("SAILKG_MAX_RESULT_ROWS") {
            self.sparql.max_result_rows = parse_env("SAILKG_MAX_RESULT_ROWS", v, "a whole number")?;
        }
        if let Some(v) = get("SAILKG_UNION_DEFAULT_GRAPH") {
            self.sparql.union_default_graph = parse_bool("SAILKG_UNION_DEFAULT_GRAPH", v)?;
        }
        if let Some(v) = get("SAILKG_LOAD_MAX_MEMORY_MB") {
            self.load.max_memory_mb = parse_env("SAILKG_LOAD_MAX_MEMORY_MB", v, "a number of MiB")?;
        }
        if let Some(v) = get("SAILKG_LOAD_THREADS") {
            self.load.threads = parse_env("SAILKG_LOAD_THREADS", v, "a whole number")?;
        }
        if let Some(v) = get("SAILKG_PG_BIND") {
            self.sql.pg_bind = Some(parse_env("SAILKG_PG_BIND", v, "an address such as 127.0.0.1:5433")?);
        }
        if let Some(v) = get("SAILKG_ADMIN_TOKEN")
            && !v.is_empty()
        {
            self.auth.tokens.push(TokenConfig { name: "env".into(), token: v, role: Role::Admin });
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.sparql.timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "sparql.timeout_secs must be at least 1; a query without a time limit can hold the store forever".into(),
            ));
        }
        if self.load.max_memory_mb < 16 {
            return Err(ConfigError::Invalid("load.max_memory_mb must be at least 16".into()));
        }
        for token in &self.auth.tokens {
            if token.token.len() < 16 {
                return Err(ConfigError::Invalid(format!(
                    "token {:?} is shorter than 16 characters; use a long random secret",
                    token.name
                )));
            }
        }
        Ok(())
    }

    /// The query timeout.
    pub fn query_timeout(&self) -> Duration {
        Duration::from_secs(self.sparql.timeout_secs)
    }

    /// Where the RocksDB store lives.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The token's role, comparing in constant time so timing does not leak the secret.
    /// The configured token equal to `presented` (compared in constant time).
    pub fn token(&self, presented: &str) -> Option<&TokenConfig> {
        let mut found = None;
        for token in &self.auth.tokens {
            if constant_time_eq(token.token.as_bytes(), presented.as_bytes()) {
                found = Some(token);
            }
        }
        found
    }

    pub fn role_of_token(&self, presented: &str) -> Option<Role> {
        let mut found = None;
        for token in &self.auth.tokens {
            if constant_time_eq(token.token.as_bytes(), presented.as_bytes()) {
                found = Some(token.role);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_env<T: std::str::FromStr>(
    var: &'static str,
    value: String,
    expected: &'static str,
) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Env { var, value, expected })
}

fn parse_bool(var: &'static str, value: String) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::Env { var, value, expected: "true or false" }),
    }
}

#[cfg(test)]
mod tests;
