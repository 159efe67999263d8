//! Reading W3C test manifests (Turtle) and comparing RDF and SPARQL results up to blank nodes.

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::dataset::CanonicalizationAlgorithm;
use oxigraph::model::vocab::rdf;
use oxigraph::model::*;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsParser, ReaderQueryResultsParserOutput};
use std::path::{Path, PathBuf};

pub const MF: &str = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#";
pub const QT: &str = "http://www.w3.org/2001/sw/DataAccess/tests/test-query#";
pub const UT: &str = "http://www.w3.org/2009/sparql/tests/test-update#";
pub const RS: &str = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#";
pub const DAWGT: &str = "http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#";
pub const HT: &str = "http://www.w3.org/2011/http#";
pub const CNT: &str = "http://www.w3.org/2011/content#";
pub const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";

pub fn iri(ns: &str, local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{ns}{local}"))
}

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn path_of(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("file://").unwrap_or(url))
}

/// A manifest graph with navigation helpers.
pub struct Manifest {
    pub graph: Graph,
    pub url: String,
}

impl Manifest {
    pub fn load(path: &Path) -> Self {
        let url = file_url(&path.canonicalize().expect("manifest exists"));
        let text = std::fs::read(path).expect("read manifest");
        let mut graph = Graph::new();
        for triple in
            RdfParser::from_format(RdfFormat::Turtle).with_base_iri(&url).expect("base").for_slice(&text)
        {
            graph.insert(&Triple::from(triple.expect("valid manifest")));
        }
        Self { graph, url }
    }

    pub fn object(&self, subject: impl Into<NamedOrBlankNode>, predicate: &NamedNode) -> Option<Term> {
        let subject = subject.into();
        self.graph.object_for_subject_predicate(&subject, predicate).map(TermRef::into_owned)
    }

    pub fn objects(&self, subject: impl Into<NamedOrBlankNode>, predicate: &NamedNode) -> Vec<Term> {
        let subject = subject.into();
        self.graph.objects_for_subject_predicate(&subject, predicate).map(TermRef::into_owned).collect()
    }

    pub fn list(&self, head: Option<Term>) -> Vec<Term> {
        let mut items = Vec::new();
        let mut current = head;
        while let Some(node) = current {
            let Some(node) = as_subject(&node) else { break };
            if let Some(first) = self.graph.object_for_subject_predicate(&node, rdf::FIRST) {
                items.push(first.into_owned());
            }
            current = self.graph.object_for_subject_predicate(&node, rdf::REST).map(TermRef::into_owned);
            if current.as_ref().is_some_and(|t| t == &Term::from(rdf::NIL.into_owned())) {
                break;
            }
        }
        items
    }

    /// The manifest node: the document itself, or a blank node typed mf:Manifest.
    pub fn root(&self) -> NamedOrBlankNode {
        let document = NamedNode::new_unchecked(self.url.clone());
        if self.graph.triples_for_subject(&document).next().is_some() {
            return document.into();
        }
        self.graph
            .subjects_for_predicate_object(rdf::TYPE, iri(MF, "Manifest").as_ref())
            .next()
            .map_or_else(|| document.into(), |s| s.into_owned())
    }

    /// The manifest's entries, in order.
    pub fn entries(&self) -> Vec<Term> {
        self.list(self.object(self.root(), &iri(MF, "entries")))
    }

    pub fn string(&self, subject: impl Into<NamedOrBlankNode>, predicate: &NamedNode) -> Option<String> {
        match self.object(subject, predicate)? {
            Term::Literal(l) => Some(l.value().to_owned()),
            Term::NamedNode(n) => Some(n.into_string()),
            _ => None,
        }
    }
}

pub fn as_subject(term: &Term) -> Option<NamedOrBlankNode> {
    match term {
        Term::NamedNode(n) => Some(n.clone().into()),
        Term::BlankNode(b) => Some(b.clone().into()),
        _ => None,
    }
}

pub fn rdf_format_of(path: &str) -> RdfFormat {
    sailkg_store::detect_format(path).unwrap_or(RdfFormat::Turtle)
}

/// Parses an RDF file into triples, resolving against its own URL.
pub fn read_graph(url: &str) -> Graph {
    let path = path_of(url);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_graph(&data, rdf_format_of(url), Some(url)).unwrap_or_else(|e| panic!("{url}: {e}"))
}

pub fn parse_graph(data: &[u8], format: RdfFormat, base: Option<&str>) -> Result<Graph, String> {
    let mut parser = RdfParser::from_format(format);
    if let Some(base) = base {
        parser = parser.with_base_iri(base).map_err(|e| e.to_string())?;
    }
    let mut graph = Graph::new();
    for quad in parser.for_slice(data) {
        graph.insert(&Triple::from(quad.map_err(|e| e.to_string())?));
    }
    Ok(graph)
}

pub fn serialize_ntriples(graph: &Graph) -> Vec<u8> {
    let mut out = Vec::new();
    for triple in graph {
        out.extend_from_slice(format!("{triple} .\n").as_bytes());
    }
    out
}

pub fn isomorphic(a: &Graph, b: &Graph) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.canonicalize(CanonicalizationAlgorithm::Unstable);
    b.canonicalize(CanonicalizationAlgorithm::Unstable);
    a == b
}

pub fn isomorphic_datasets(a: &Dataset, b: &Dataset) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.canonicalize(CanonicalizationAlgorithm::Unstable);
    b.canonicalize(CanonicalizationAlgorithm::Unstable);
    a == b
}

/// Query results in a comparable form.
#[derive(Debug)]
pub enum Results {
    Boolean(bool),
    /// Rows, each a list of (variable name, term).
    Solutions(Vec<Vec<(String, Term)>>),
    Graph(Box<Graph>),
}

pub fn parse_results(data: &[u8], format: QueryResultsFormat) -> Result<Results, String> {
    match QueryResultsParser::from_format(format).for_reader(data).map_err(|e| e.to_string())? {
        ReaderQueryResultsParserOutput::Boolean(b) => Ok(Results::Boolean(b)),
        ReaderQueryResultsParserOutput::Solutions(solutions) => {
            let mut rows = Vec::new();
            for solution in solutions {
                let solution = solution.map_err(|e| e.to_string())?;
                rows.push(solution.iter().map(|(v, t)| (v.as_str().to_owned(), t.clone())).collect());
            }
            Ok(Results::Solutions(rows))
        }
    }
}

/// Reads an expected results file: SPARQL results formats, or RDF (a result-set graph or a
/// CONSTRUCT graph).
pub fn read_expected(url: &str) -> Results {
    let path = path_of(url);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if let Some(format) = QueryResultsFormat::from_extension(extension) {
        return parse_results(&data, format).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let graph = read_graph(url);
    let result_set = graph
        .subjects_for_predicate_object(rdf::TYPE, iri(RS, "ResultSet").as_ref())
        .next()
        .map(|s| s.into_owned());
    match result_set {
        Some(set) => result_set_graph(&graph, &set),
        None => Results::Graph(Box::new(graph)),
    }
}

fn result_set_graph(graph: &Graph, set: &NamedOrBlankNode) -> Results {
    if let Some(TermRef::Literal(b)) = graph.object_for_subject_predicate(set, &iri(RS, "boolean")) {
        return Results::Boolean(b.value() == "true");
    }
    let mut rows = Vec::new();
    for solution in graph.objects_for_subject_predicate(set, &iri(RS, "solution")) {
        let Some(solution) = as_subject(&solution.into_owned()) else { continue };
        let mut row = Vec::new();
        for binding in graph.objects_for_subject_predicate(&solution, &iri(RS, "binding")) {
            let Some(binding) = as_subject(&binding.into_owned()) else { continue };
            let variable = graph.object_for_subject_predicate(&binding, &iri(RS, "variable"));
            let value = graph.object_for_subject_predicate(&binding, &iri(RS, "value"));
            if let (Some(TermRef::Literal(variable)), Some(value)) = (variable, value) {
                row.push((variable.value().to_owned(), value.into_owned()));
            }
        }
        rows.push(row);
    }
    Results::Solutions(rows)
}

/// Compares results up to blank-node renaming, as multisets of rows.
pub fn same_results(expected: &Results, actual: &Results) -> bool {
    match (expected, actual) {
        (Results::Boolean(a), Results::Boolean(b)) => a == b,
        (Results::Graph(a), Results::Graph(b)) => isomorphic(a, b),
        (Results::Solutions(a), Results::Solutions(b)) => {
            a.len() == b.len() && isomorphic(&rows_as_graph(a), &rows_as_graph(b))
        }
        _ => false,
    }
}

/// Encodes rows as a graph, one fresh blank node per row, so that graph isomorphism gives
/// multiset equality with consistent blank-node renaming across rows.
fn rows_as_graph(rows: &[Vec<(String, Term)>]) -> Graph {
    let mut graph = Graph::new();
    let row_type = NamedNode::new_unchecked("urn:test:Row");
    for row in rows {
        let node = BlankNode::default();
        graph.insert(&Triple::new(node.clone(), rdf::TYPE.into_owned(), row_type.clone()));
        for (variable, value) in row {
            let predicate = NamedNode::new_unchecked(format!("urn:test:var:{variable}"));
            graph.insert(&Triple::new(node.clone(), predicate, value.clone()));
        }
    }
    graph
}
