//! Search documents from the store: for each subject of a graph with a label, a description or
//! keywords, what the index needs.

use crate::Result;
use oxigraph::model::Term;
use oxigraph::sparql::QueryResults;
use sailkg_core::vocab;
use sailkg_store::{QueryRequest, Store};
use std::collections::HashMap;
use std::time::Duration;

const TITLES: [&str; 7] = [
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://schema.org/name",
    "https://schema.org/name",
    "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name",
    "urn:sailkg:vocab#columnName",
];
const KEYWORDS: [&str; 2] =
    ["http://www.w3.org/2004/02/skos/core#altLabel", "http://www.w3.org/ns/dcat#keyword"];
const TEXTS: [&str; 6] = [
    "http://www.w3.org/2000/01/rdf-schema#comment",
    "http://purl.org/dc/terms/description",
    "http://www.w3.org/2004/02/skos/core#definition",
    "http://schema.org/description",
    "https://schema.org/description",
    "http://schema.org/text",
];
const FORMATS: [&str; 3] = [
    "http://purl.org/dc/terms/format",
    "http://www.w3.org/ns/dcat#mediaType",
    "http://schema.org/encodingFormat",
];
const LANGUAGES: [&str; 1] = ["http://schema.org/inLanguage"];
const TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// What a document describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// A catalogued source (`dcat:Dataset`).
    Dataset,
    /// One version of a source.
    Version,
    /// A `dcat:Distribution`.
    Distribution,
    /// A column of a table.
    Column,
    /// An ontology class.
    Class,
    /// An ontology property.
    Property,
    /// A SKOS concept.
    Concept,
    /// A text document or an image.
    Document,
    /// A run (ingest, mapping, linking).
    Run,
    /// Anything else.
    #[default]
    Entity,
}

impl Kind {
    /// The facet value.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dataset => "dataset",
            Kind::Version => "version",
            Kind::Distribution => "distribution",
            Kind::Column => "column",
            Kind::Class => "class",
            Kind::Property => "property",
            Kind::Concept => "concept",
            Kind::Document => "document",
            Kind::Run => "run",
            Kind::Entity => "entity",
        }
    }

    fn of(types: &[String]) -> Self {
        let has = |iris: &[&str]| types.iter().any(|t| iris.contains(&t.as_str()));
        if has(&["urn:sailkg:vocab#SourceVersion"]) {
            Kind::Version
        } else if has(&["http://www.w3.org/ns/dcat#Dataset"]) {
            Kind::Dataset
        } else if has(&["http://www.w3.org/ns/dcat#Distribution"]) {
            Kind::Distribution
        } else if has(&["urn:sailkg:vocab#Column"]) {
            Kind::Column
        } else if has(&["http://www.w3.org/2002/07/owl#Class", "http://www.w3.org/2000/01/rdf-schema#Class"])
        {
            Kind::Class
        } else if has(&[
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
            "http://www.w3.org/2002/07/owl#ObjectProperty",
            "http://www.w3.org/2002/07/owl#DatatypeProperty",
            "http://www.w3.org/2002/07/owl#AnnotationProperty",
        ]) {
            Kind::Property
        } else if has(&["http://www.w3.org/2004/02/skos/core#Concept"]) {
            Kind::Concept
        } else if has(&["http://schema.org/TextDigitalDocument", "http://schema.org/ImageObject"]) {
            Kind::Document
        } else if has(&["http://www.w3.org/ns/prov#Activity"]) {
            Kind::Run
        } else {
            Kind::Entity
        }
    }
}

/// One document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    pub id: String,
    pub kind: Kind,
    pub titles: Vec<String>,
    pub texts: Vec<String>,
    pub keywords: Vec<String>,
    pub classes: Vec<String>,
    pub formats: Vec<String>,
    pub languages: Vec<String>,
    pub source: String,
    pub synthetic: bool,
}

/// The source a graph belongs to: the source name of a source graph, else a short name.
pub fn graph_source(graph: Option<&str>) -> String {
    let Some(graph) = graph else { return "default".into() };
    if let Some(rest) = graph.strip_prefix("urn:sailkg:graph:source/") {
        let name = rest.split('/').next().unwrap_or(rest);
        return percent_decode(name);
    }
    if vocab::is_synthetic_graph(graph) {
        return "synthetic".into();
    }
    match graph {
        vocab::GRAPH_CATALOG => "catalog".into(),
        vocab::GRAPH_ONTOLOGY => "ontology".into(),
        vocab::GRAPH_LINKS => "links".into(),
        vocab::GRAPH_SHAPES => "shapes".into(),
        vocab::GRAPH_INFERRED => "inferred".into(),
        other => other.to_owned(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The documents of one graph (`None`: the default graph).
pub(crate) fn documents(store: &Store, graph: Option<&str>) -> Result<Vec<Doc>> {
    let properties: String = TITLES
        .iter()
        .chain(&KEYWORDS)
        .chain(&TEXTS)
        .chain(&FORMATS)
        .chain(&LANGUAGES)
        .chain(std::iter::once(&TYPE))
        .map(|p| format!("<{p}> "))
        .collect();
    let pattern = format!("VALUES ?p {{ {properties} }} ?s ?p ?o . FILTER(isIRI(?s))");
    let query = match graph {
        Some(g) => format!("SELECT ?s ?p ?o WHERE {{ GRAPH <{g}> {{ {pattern} }} }}"),
        None => format!("SELECT ?s ?p ?o WHERE {{ {pattern} }}"),
    };
    let budget = store.budget(Duration::from_secs(3600));
    let request = QueryRequest { query: &query, ..Default::default() };
    let QueryResults::Solutions(solutions) = store.query(&request, &budget)? else {
        return Ok(Vec::new());
    };
    let source = graph_source(graph);
    let synthetic = graph.is_some_and(vocab::is_synthetic_graph);
    let mut order: Vec<String> = Vec::new();
    let mut found: HashMap<String, Doc> = HashMap::new();
    for solution in solutions {
        let solution = solution.map_err(sailkg_store::StoreError::Query)?;
        let (Some(Term::NamedNode(s)), Some(Term::NamedNode(p)), Some(o)) =
            (solution.get("s"), solution.get("p"), solution.get("o"))
        else {
            continue;
        };
        let doc = found.entry(s.as_str().to_owned()).or_insert_with(|| {
            order.push(s.as_str().to_owned());
            Doc { id: s.as_str().to_owned(), source: source.clone(), synthetic, ..Doc::default() }
        });
        let (value, language) = match o {
            Term::Literal(l) => (l.value().to_owned(), l.language().map(str::to_owned)),
            Term::NamedNode(n) => (n.as_str().to_owned(), None),
            Term::BlankNode(_) | Term::Triple(_) => continue,
        };
        let p = p.as_str();
        if p == TYPE {
            doc.classes.push(value);
        } else if TITLES.contains(&p) {
            doc.titles.push(value);
            if let Some(language) = language
                && !doc.languages.contains(&language)
            {
                doc.languages.push(language);
            }
        } else if KEYWORDS.contains(&p) {
            doc.keywords.push(value);
        } else if TEXTS.contains(&p) {
            doc.texts.push(value);
        } else if FORMATS.contains(&p) {
            doc.formats.push(value);
        } else if LANGUAGES.contains(&p) && !doc.languages.contains(&value) {
            doc.languages.push(value);
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|id| found.remove(&id))
        .filter(|d| !d.titles.is_empty() || !d.texts.is_empty() || !d.keywords.is_empty())
        .map(|mut d| {
            d.kind = Kind::of(&d.classes);
            d
        })
        .collect())
}
