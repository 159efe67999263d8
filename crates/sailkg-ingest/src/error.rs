//! The error type of ingest.

use std::path::PathBuf;

/// Result with [`IngestError`].
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// What can stop an ingest. Rows that fail are rejects, not errors; these are fatal, and leave
/// the store and the tables as they were.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file changed while it was read, so what was read may be neither version.
    #[error("{}: the file changed while it was read; ingest it again once it is complete", .0.display())]
    Changed(PathBuf),
    /// The content does not fit the format.
    #[error("{name}: {message}")]
    Malformed {
        /// The file.
        name: String,
        /// What is wrong, with a location where there is one.
        message: String,
    },
    /// The format cannot be told.
    #[error("{0}: unknown source format; pass --format csv|tsv|json|ndjson|geojson|parquet|xlsx|image|text")]
    UnknownFormat(String),
    /// A source name with characters that cannot be used in paths and IRIs.
    #[error("invalid source name {0:?}: use letters, digits, '-' and '_'")]
    InvalidName(String),
    /// Table processing failed.
    #[error("{0}")]
    Table(String),
    /// The rules file is invalid.
    #[error("invalid rules: {0}")]
    Rules(String),
    /// The catalogue could not be written.
    #[error(transparent)]
    Store(#[from] sailkg_store::StoreError),
}

impl IngestError {
    /// Whether the user can fix it (bad input) rather than a failure of the system.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::Store(e) => e.is_user_error(),
            Self::Table(_) => false,
            _ => true,
        }
    }
}

impl From<polars::prelude::PolarsError> for IngestError {
    fn from(error: polars::prelude::PolarsError) -> Self {
        Self::Table(error.to_string())
    }
}
