//! IRIs of the SAIL-KG vocabulary and the named-graph layout of the store.
//!
//! Real and synthetic data are always told apart by graph: every graph the platform writes has a
//! name built here, so the layout is defined in exactly one place.

/// Namespace of the SAIL-KG core vocabulary (`ontologies/sail.ttl`).
pub const SAIL: &str = "urn:sailkg:vocab#";

/// The curated domain ontology.
pub const GRAPH_ONTOLOGY: &str = "urn:sailkg:graph:ontology";
/// SHACL shapes that constrain the ontology's classes.
pub const GRAPH_SHAPES: &str = "urn:sailkg:graph:shapes";
/// The DCAT + PROV catalogue of every dataset version and run.
pub const GRAPH_CATALOG: &str = "urn:sailkg:graph:catalog";
/// Entity links (`owl:sameAs`, `skos:closeMatch`) with their scores.
pub const GRAPH_LINKS: &str = "urn:sailkg:graph:links";
/// Triples derived by RDFS/OWL-RL inference.
pub const GRAPH_INFERRED: &str = "urn:sailkg:graph:inferred";

const GRAPH_SOURCE_PREFIX: &str = "urn:sailkg:graph:source/";
const GRAPH_SYNTHETIC_PREFIX: &str = "urn:sailkg:graph:synthetic/";

/// The graph that holds one version of one source, `urn:sailkg:graph:source/{source}/{version}`.
///
/// Both parts are percent-encoded so that any source name gives a valid IRI.
pub fn source_graph(source: &str, version: &str) -> String {
    format!("{GRAPH_SOURCE_PREFIX}{}/{}", encode_segment(source), encode_segment(version))
}

/// The graph that holds the records of one synthetic generation run.
pub fn synthetic_graph(run: &str) -> String {
    format!("{GRAPH_SYNTHETIC_PREFIX}{}", encode_segment(run))
}

/// Whether a graph holds synthetic records.
pub fn is_synthetic_graph(iri: &str) -> bool {
    iri.starts_with(GRAPH_SYNTHETIC_PREFIX)
}

/// The IRI of a catalogued source (a `dcat:Dataset`).
pub fn dataset_iri(source: &str) -> String {
    format!("urn:sailkg:dataset:{source}")
}

/// The IRI of one version of a source.
pub fn version_iri(source: &str, version: &str) -> String {
    format!("urn:sailkg:dataset:{source}/{version}")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_names_are_valid_iris() {
        let iri = source_graph("air ports/ü", "2026-11-26");
        assert_eq!(iri, "urn:sailkg:graph:source/air%20ports%2F%C3%BC/2026-11-26");
        assert!(oxigraph::model::NamedNode::new(&iri).is_ok());
        assert!(is_synthetic_graph(&synthetic_graph("run 1")));
        assert!(!is_synthetic_graph(GRAPH_CATALOG));
    }
}
