//! The error type of mapping: every error says where in the mapping it comes from.

use std::fmt;

/// Result with [`MapError`].
pub type Result<T, E = MapError> = std::result::Result<T, E>;

/// A mapping that cannot be read or run. Raised before anything is written to the store.
#[derive(Debug, thiserror::Error)]
pub struct MapError {
    /// Where: the mapping file, the triples map and the term map, as far as known.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

/// A place in a mapping.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// The mapping file.
    pub file: String,
    /// The triples map (its IRI or blank node).
    pub triples_map: Option<String>,
    /// The term map inside it ("subject map", "object map 2 of predicate-object map 1", ...).
    pub term_map: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(map) = &self.triples_map {
            write!(f, ": triples map {map}")?;
        }
        if let Some(term) = &self.term_map {
            write!(f, ", {term}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl MapError {
    pub(crate) fn new(location: &Location, message: impl Into<String>) -> Self {
        Self { location: location.clone(), message: message.into() }
    }
}

impl Location {
    pub(crate) fn file(file: &str) -> Self {
        Self { file: file.to_owned(), ..Self::default() }
    }

    pub(crate) fn map(&self, map: &str) -> Self {
        Self { file: self.file.clone(), triples_map: Some(map.to_owned()), term_map: None }
    }

    pub(crate) fn term(&self, term: impl Into<String>) -> Self {
        Self { term_map: Some(term.into()), ..self.clone() }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> MapError {
        MapError::new(self, message)
    }
}
