//! The error type of the store.

use oxigraph::sparql::{QueryEvaluationError, SparqlSyntaxError, UpdateEvaluationError};
use oxigraph::store::StorageError;
use std::path::PathBuf;

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// RocksDB or Oxigraph failed.
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
    /// The store could not be opened.
    #[error("cannot open the store at {path}: {message}")]
    Open {
        /// The store directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Input RDF is malformed. Nothing of the load was kept.
    #[error("{source_name}:{line}:{column}: {message}")]
    Parse {
        /// The file or upload.
        source_name: String,
        /// 1-based line, 0 when the parser gives no position.
        line: u64,
        /// 1-based column, 0 when the parser gives no position.
        column: u64,
        /// The parser's message.
        message: String,
    },
    /// The RDF format of an input cannot be told.
    #[error(
        "{0}: unknown RDF format; name the file .nt, .nq, .ttl, .trig, .rdf, .owl or .jsonld (optionally .gz) or pass --format"
    )]
    UnknownFormat(String),
    /// An IRI given by the user is invalid.
    #[error("invalid IRI {iri:?}: {message}")]
    InvalidIri {
        /// The text.
        iri: String,
        /// Why.
        message: String,
    },
    /// The SPARQL query or update does not parse.
    #[error("SPARQL syntax error: {0}")]
    Syntax(#[from] SparqlSyntaxError),
    /// Query evaluation failed.
    #[error("query evaluation failed: {0}")]
    Query(QueryEvaluationError),
    /// Update evaluation failed.
    #[error("update failed: {0}")]
    Update(UpdateEvaluationError),
    /// The update names its dataset with `USING`/`WITH` and the request gives one too.
    #[error(
        "the update has USING or WITH clauses and the request gives using-graph-uri or using-named-graph-uri too; give the dataset one way"
    )]
    DatasetConflict,
    /// The operation ran past its time limit and was stopped.
    #[error(
        "the operation ran longer than the {0:?} limit and was stopped; simplify it, add LIMIT, or raise sparql.timeout_secs"
    )]
    Timeout(std::time::Duration),
    /// The operation was cancelled, for example because the client went away.
    #[error("the operation was cancelled")]
    Cancelled,
    /// The result has more rows than allowed.
    #[error("the result has more than {0} rows; add LIMIT or raise sparql.max_result_rows")]
    TooManyRows(u64),
    /// The results cannot be written in the requested format.
    #[error("cannot write results: {0}")]
    Serialize(String),
    /// The shapes graph does not compile, or the SHACL engine failed.
    #[error("SHACL: {0}")]
    Shacl(String),
    /// A backup or restore precondition does not hold.
    #[error("{0}")]
    Backup(String),
}

impl StoreError {
    /// Whether the error is the user's: bad input rather than a failure of the system.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::Parse { .. }
                | Self::UnknownFormat(_)
                | Self::InvalidIri { .. }
                | Self::Syntax(_)
                | Self::DatasetConflict
                | Self::Timeout(_)
                | Self::TooManyRows(_)
                | Self::Backup(_)
                | Self::Shacl(_)
                | Self::Io { .. }
        ) || matches!(self, Self::Query(e) if is_user_query_error(e))
            || matches!(self, Self::Update(e) if is_user_update_error(e))
    }
}

fn is_user_query_error(e: &QueryEvaluationError) -> bool {
    !matches!(e, QueryEvaluationError::Dataset(_) | QueryEvaluationError::Unexpected(_))
}

fn is_user_update_error(e: &UpdateEvaluationError) -> bool {
    !matches!(e, UpdateEvaluationError::Storage(_) | UpdateEvaluationError::Unexpected(_))
}
