//! Reads an RML mapping (RDF) into a plan: triples maps with their logical sources and term maps.
//!
//! Both vocabularies are read: current RML (`http://w3id.org/rml/`, RML-Core and RML-IO) and
//! legacy RML (`http://semweb.mmlab.be/ns/rml#` with R2RML's `rr:` terms and `ql:` formulations).
//! Everything that can be checked without data is checked here, so a bad mapping fails before
//! any source is read.

use crate::error::{Location, Result};
use crate::template::{self, Segment};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, Literal, NamedNode, NamedOrBlankNode, NamedOrBlankNodeRef, Term, TermRef};
use std::path::{Path, PathBuf};

pub(crate) const RML: &str = "http://w3id.org/rml/";
const RR: &str = "http://www.w3.org/ns/r2rml#";
const LEGACY: &str = "http://semweb.mmlab.be/ns/rml#";
const QL: &str = "http://semweb.mmlab.be/ns/ql#";
const SAIL_TABLE: &str = "urn:sailkg:vocab#table";

/// A whole mapping.
#[derive(Debug)]
pub struct Plan {
    pub(crate) maps: Vec<TriplesMap>,
    pub(crate) sources: Vec<SourceSpec>,
    /// RML-IO logical targets: quads made with a term map that names one go there instead of
    /// the default output.
    pub(crate) targets: Vec<TargetSpec>,
    /// JSON numbers and booleans, and typed table columns, become typed literals (current RML);
    /// legacy RML keeps every value a plain string.
    pub(crate) natural_datatypes: bool,
}

#[derive(Debug)]
pub(crate) struct TriplesMap {
    pub name: String,
    pub location: Location,
    pub source: usize,
    pub subject: TermMap,
    pub classes: Vec<NamedNode>,
    pub poms: Vec<Pom>,
    pub base: String,
}

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceSpec {
    pub input: Input,
    pub kind: SourceKind,
    pub iterator: Option<String>,
    pub namespaces: Vec<(String, String)>,
    /// Values that mean "no value" (RML-IO `rml:null`); CSV's empty string is one by default.
    pub nulls: Vec<String>,
    pub utf16: bool,
    pub compression: Compression,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    File(PathBuf),
    /// The newest version of a catalogued table (`sail:table "name"`).
    Catalogue(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    Csv,
    Json,
    Xml,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zip,
    TarGzip,
    TarXz,
}

/// A file a logical target writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetSpec {
    pub path: PathBuf,
    pub format: oxigraph::io::RdfFormat,
    pub compression: Compression,
    pub utf16: bool,
}

/// How a term map makes its values.
#[derive(Debug, Clone)]
pub(crate) enum Generator {
    Constant(Term),
    Reference(String),
    Template(Vec<Segment>),
    /// A fresh blank node per record (a blank-node term map without a value).
    Fresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TermType {
    Iri,
    /// An IRI whose inserted template values are percent-encoded down to ASCII (`rml:URI`).
    Uri,
    /// An IRI built from a template without percent-encoding the inserted values.
    UnsafeIri,
    BlankNode,
    Literal,
}

#[derive(Debug, Clone)]
pub(crate) struct TermMap {
    pub location: Location,
    pub generator: Generator,
    pub term_type: TermType,
    /// A datatype IRI: constant or generated.
    pub datatype: Option<Box<TermMap>>,
    /// A language tag: constant or generated.
    pub language: Option<Box<TermMap>>,
    pub graphs: Vec<TermMap>,
    /// Logical targets (indexes into the plan's targets).
    pub targets: Vec<usize>,
}

#[derive(Debug)]
pub(crate) struct Pom {
    pub predicates: Vec<TermMap>,
    pub objects: Vec<ObjectMap>,
    pub graphs: Vec<TermMap>,
}

#[derive(Debug)]
pub(crate) enum ObjectMap {
    Term(TermMap),
    Join(RefMap),
}

#[derive(Debug)]
pub(crate) struct RefMap {
    pub location: Location,
    pub parent: usize,
    /// (child, parent) value generators, compared as strings.
    pub joins: Vec<(TermMap, TermMap)>,
}

/// Where a term map sits, for defaults and checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Subject,
    Predicate,
    Object,
    Graph,
    Datatype,
    Language,
    Join,
}

impl Plan {
    /// Reads a mapping graph. `file` names the mapping in errors; `dir` resolves relative source
    /// paths; `base` is the base IRI of generated relative IRIs.
    pub(crate) fn from_graph(
        graph: &Graph,
        file: &str,
        dir: &Path,
        working_dir: &Path,
        base: &str,
    ) -> Result<Self> {
        let natural_datatypes = graph.iter().any(|t| t.predicate.as_str().starts_with(RML));
        let reader = Reader {
            graph,
            file: Location::file(file),
            dir,
            working_dir,
            legacy: !natural_datatypes,
            targets: Default::default(),
        };
        let mut names: Vec<NamedOrBlankNode> = Vec::new();
        for triple in graph.iter() {
            let typed = triple.predicate == rdf::TYPE
                && matches!(triple.object, TermRef::NamedNode(n)
                    if n.as_str() == format!("{RML}TriplesMap") || n.as_str() == format!("{RR}TriplesMap"));
            let sourced =
                ["logicalSource", "logicalTable"].iter().any(|l| reader.is(triple.predicate.as_str(), l));
            let subject = triple.subject.into_owned();
            if (typed || sourced) && !names.contains(&subject) {
                names.push(subject);
            }
        }
        // Deterministic order: by name.
        names.sort_by_key(|n| n.to_string());
        let mut plan = Plan { maps: Vec::new(), sources: Vec::new(), targets: Vec::new(), natural_datatypes };
        for name in &names {
            let map = reader.triples_map(name.as_ref(), &names, &mut plan.sources, base)?;
            plan.maps.push(map);
        }
        if plan.maps.is_empty() {
            return Err(reader.file.error("no triples map in the mapping"));
        }
        plan.targets = reader.targets.into_inner().into_iter().map(|(_, t)| t).collect();
        Ok(plan)
    }
}

struct Reader<'a> {
    graph: &'a Graph,
    file: Location,
    dir: &'a Path,
    working_dir: &'a Path,
    /// Legacy RML (R2RML over files): an empty CSV field is a missing value.
    legacy: bool,
    /// Logical targets met so far, by node.
    targets: std::cell::RefCell<Vec<(NamedOrBlankNode, TargetSpec)>>,
}

impl<'a> Reader<'a> {
    /// Whether `iri` is `local` in one of the mapping namespaces.
    fn is(&self, iri: &str, local: &str) -> bool {
        [RML, RR, LEGACY].iter().any(|ns| iri.strip_prefix(ns) == Some(local))
    }

    /// The objects of `local` in any of the mapping namespaces.
    fn all(&self, node: NamedOrBlankNodeRef<'_>, local: &str) -> Vec<TermRef<'a>> {
        let mut out = Vec::new();
        for ns in [RML, RR, LEGACY] {
            let predicate = NamedNode::new_unchecked(format!("{ns}{local}"));
            out.extend(self.graph.objects_for_subject_predicate(node, &predicate));
        }
        out
    }

    /// The single object of `local`, if any; more than one is an error.
    fn one(&self, at: &Location, node: NamedOrBlankNodeRef<'_>, local: &str) -> Result<Option<TermRef<'a>>> {
        let mut all = self.all(node, local);
        match all.len() {
            0 => Ok(None),
            1 => Ok(all.pop()),
            n => Err(at.error(format!("{n} values of {local} where one is allowed"))),
        }
    }

    fn string(&self, at: &Location, node: NamedOrBlankNodeRef<'_>, local: &str) -> Result<Option<String>> {
        match self.one(at, node, local)? {
            None => Ok(None),
            Some(TermRef::Literal(l)) => Ok(Some(l.value().to_owned())),
            Some(other) => Err(at.error(format!("{local} must be a string, not {other}"))),
        }
    }

    fn triples_map(
        &self,
        name: NamedOrBlankNodeRef<'_>,
        names: &[NamedOrBlankNode],
        sources: &mut Vec<SourceSpec>,
        base: &str,
    ) -> Result<TriplesMap> {
        let label = name.to_string();
        let at = self.file.map(&label);
        if !self.all(name, "logicalTable").is_empty() {
            return Err(at.error("rr:logicalTable (SQL sources) is not supported; use an rml:logicalSource"));
        }
        let source = match self.one(&at, name, "logicalSource")? {
            Some(node) => self.source(&at, as_node(&at, node)?)?,
            None => return Err(at.error("no rml:logicalSource")),
        };
        let source = match sources.iter().position(|s| *s == source) {
            Some(index) => index,
            None => {
                sources.push(source);
                sources.len() - 1
            }
        };
        let base = match self.one(&at, name, "baseIRI")? {
            Some(TermRef::NamedNode(n)) => n.as_str().to_owned(),
            Some(TermRef::Literal(l)) => l.value().to_owned(),
            Some(other) => return Err(at.error(format!("rml:baseIRI must be an IRI, not {other}"))),
            None => base.to_owned(),
        };
        let subject_maps = self.all(name, "subjectMap");
        let shortcuts = self.all(name, "subject");
        let subject_at = at.term("subject map");
        let (subject, classes) = match (subject_maps.as_slice(), shortcuts.as_slice()) {
            ([node], []) => {
                let node = as_node(&subject_at, *node)?;
                let mut classes = Vec::new();
                for class in self.all(node, "class") {
                    match class {
                        TermRef::NamedNode(n) => classes.push(n.into_owned()),
                        other => {
                            return Err(subject_at.error(format!("rml:class must be an IRI, not {other}")));
                        }
                    }
                }
                (self.term_map(&subject_at, node, Role::Subject)?, classes)
            }
            ([], [constant]) => (self.constant_map(&subject_at, *constant, Role::Subject)?, Vec::new()),
            ([], []) => return Err(subject_at.error("the triples map has no subject map")),
            _ => return Err(subject_at.error("the triples map has more than one subject map")),
        };
        let mut poms = Vec::new();
        let mut pom_nodes = self.all(name, "predicateObjectMap");
        pom_nodes.sort_by_key(|n| n.to_string());
        for (index, pom) in pom_nodes.into_iter().enumerate() {
            let pom_at = at.term(format!("predicate-object map {}", index + 1));
            let pom = as_node(&pom_at, pom)?;
            let mut predicates = Vec::new();
            for constant in self.all(pom, "predicate") {
                predicates.push(self.constant_map(&pom_at.term("predicate"), constant, Role::Predicate)?);
            }
            for (i, node) in self.all(pom, "predicateMap").into_iter().enumerate() {
                let here =
                    pom_at.term(format!("predicate map {} of predicate-object map {}", i + 1, index + 1));
                predicates.push(self.term_map(&here, as_node(&here, node)?, Role::Predicate)?);
            }
            if predicates.is_empty() {
                return Err(pom_at.error("no predicate"));
            }
            let mut objects = Vec::new();
            for constant in self.all(pom, "object") {
                objects.push(ObjectMap::Term(self.constant_map(
                    &pom_at.term("object"),
                    constant,
                    Role::Object,
                )?));
            }
            for (i, node) in self.all(pom, "objectMap").into_iter().enumerate() {
                let here = pom_at.term(format!("object map {} of predicate-object map {}", i + 1, index + 1));
                let node = as_node(&here, node)?;
                match self.one(&here, node, "parentTriplesMap")? {
                    Some(parent) => {
                        let parent = as_node(&here, parent)?;
                        let Some(parent) = names.iter().position(|n| n.as_ref() == parent) else {
                            return Err(
                                here.error(format!("parent triples map {parent} is not in the mapping"))
                            );
                        };
                        let mut joins = Vec::new();
                        for join in self.all(node, "joinCondition") {
                            let join = as_node(&here, join)?;
                            let side = |value: &str, map: &str| -> Result<TermMap> {
                                match (self.string(&here, join, value)?, self.one(&here, join, map)?) {
                                    (Some(reference), None) => Ok(TermMap::reference(&here, reference)),
                                    (None, Some(node)) => {
                                        self.term_map(&here, as_node(&here, node)?, Role::Join)
                                    }
                                    _ => Err(here.error(format!(
                                        "a join condition needs one rml:{value} or rml:{map}"
                                    ))),
                                }
                            };
                            joins.push((side("child", "childMap")?, side("parent", "parentMap")?));
                        }
                        objects.push(ObjectMap::Join(RefMap { location: here, parent, joins }));
                    }
                    None => objects.push(ObjectMap::Term(self.term_map(&here, node, Role::Object)?)),
                }
            }
            if objects.is_empty() {
                return Err(pom_at.error("no object"));
            }
            let graphs = self.graphs(&pom_at, pom)?;
            poms.push(Pom { predicates, objects, graphs });
        }
        Ok(TriplesMap { name: label, location: at, source, subject, classes, poms, base })
    }

    fn graphs(&self, at: &Location, node: NamedOrBlankNodeRef<'_>) -> Result<Vec<TermMap>> {
        let mut graphs = Vec::new();
        for constant in self.all(node, "graph") {
            graphs.push(self.constant_map(&at.term("graph"), constant, Role::Graph)?);
        }
        for (i, map) in self.all(node, "graphMap").into_iter().enumerate() {
            let here = at.term(format!("graph map {}", i + 1));
            graphs.push(self.term_map(&here, as_node(&here, map)?, Role::Graph)?);
        }
        Ok(graphs)
    }

    fn constant_map(&self, at: &Location, constant: TermRef<'_>, role: Role) -> Result<TermMap> {
        let term_type = match constant {
            TermRef::NamedNode(_) => TermType::Iri,
            TermRef::BlankNode(_) => TermType::BlankNode,
            TermRef::Literal(_) => TermType::Literal,
            TermRef::Triple(_) => return Err(at.error("a constant cannot be a triple term")),
        };
        check_role(at, role, term_type)?;
        Ok(TermMap {
            location: at.clone(),
            generator: Generator::Constant(constant.into_owned()),
            term_type,
            datatype: None,
            language: None,
            graphs: Vec::new(),
            targets: Vec::new(),
        })
    }

    /// The logical targets a term map names.
    fn targets(&self, at: &Location, node: NamedOrBlankNodeRef<'_>) -> Result<Vec<usize>> {
        let mut indexes = Vec::new();
        for target in self.all(node, "logicalTarget") {
            let target = as_node(at, target)?;
            let known = self.targets.borrow().iter().position(|(n, _)| n.as_ref() == target);
            let index = match known {
                Some(index) => index,
                None => {
                    let spec = self.target(&at.term("logical target"), target)?;
                    let mut targets = self.targets.borrow_mut();
                    targets.push((target.into_owned(), spec));
                    targets.len() - 1
                }
            };
            if !indexes.contains(&index) {
                indexes.push(index);
            }
        }
        Ok(indexes)
    }

    fn target(&self, at: &Location, node: NamedOrBlankNodeRef<'_>) -> Result<TargetSpec> {
        let Some(file) = self.one(at, node, "target")? else {
            return Err(at.error("a logical target needs rml:target"));
        };
        let file = as_node(at, file)?;
        let Some(path) = self.string(at, file, "path")? else {
            return Err(at.error("the target has no rml:path"));
        };
        let root = match self.one(at, file, "root")? {
            Some(TermRef::NamedNode(r)) if r.as_str().ends_with("MappingDirectory") => self.dir.to_path_buf(),
            Some(TermRef::Literal(r)) => PathBuf::from(r.value()),
            _ => self.working_dir.to_path_buf(),
        };
        let format = match self.one(at, node, "serialization")? {
            None => oxigraph::io::RdfFormat::NQuads,
            Some(TermRef::NamedNode(f)) => match f.as_str().rsplit('/').next().unwrap_or("") {
                "N-Quads" => oxigraph::io::RdfFormat::NQuads,
                "N-Triples" => oxigraph::io::RdfFormat::NTriples,
                // N3 is a superset of Turtle: Turtle output is valid N3.
                "Turtle" | "N3" => oxigraph::io::RdfFormat::Turtle,
                "TriG" => oxigraph::io::RdfFormat::TriG,
                "JSON-LD" => oxigraph::io::RdfFormat::JsonLd { profile: oxigraph::io::JsonLdProfileSet::empty() },
                "RDF_XML" => oxigraph::io::RdfFormat::RdfXml,
                other => return Err(at.error(format!("unsupported serialization {other} (N-Quads, N-Triples, Turtle, N3, TriG, JSON-LD and RDF/XML are)"))),
            },
            Some(other) => return Err(at.error(format!("rml:serialization must be an IRI, not {other}"))),
        };
        let compression = match self.one(at, node, "compression")? {
            Some(TermRef::NamedNode(c)) => compression(at, c.as_str())?,
            _ => Compression::None,
        };
        let utf16 = matches!(self.one(at, node, "encoding")?, Some(TermRef::NamedNode(e)) if e.as_str().ends_with("UTF-16"));
        Ok(TargetSpec { path: root.join(path), format, compression, utf16 })
    }

    fn term_map(&self, at: &Location, node: NamedOrBlankNodeRef<'_>, role: Role) -> Result<TermMap> {
        let constant = self.one(at, node, "constant")?;
        let reference = match (self.string(at, node, "reference")?, self.string(at, node, "column")?) {
            (Some(_), Some(_)) => return Err(at.error("both rml:reference and rr:column")),
            (r, c) => r.or(c),
        };
        let template = self.string(at, node, "template")?;
        let declared = match self.one(at, node, "termType")? {
            None => None,
            Some(TermRef::NamedNode(n)) => Some(match n.as_str().rsplit(['/', '#']).next().unwrap_or("") {
                "IRI" => TermType::Iri,
                "URI" => TermType::Uri,
                "UnsafeIRI" | "UnsafeURI" => TermType::UnsafeIri,
                "BlankNode" => TermType::BlankNode,
                "Literal" => TermType::Literal,
                _ => return Err(at.error(format!("unknown term type {n}"))),
            }),
            Some(other) => return Err(at.error(format!("rml:termType must be an IRI, not {other}"))),
        };
        let datatype = match (self.one(at, node, "datatype")?, self.one(at, node, "datatypeMap")?) {
            (Some(_), Some(_)) => return Err(at.error("both rml:datatype and rml:datatypeMap")),
            (Some(TermRef::NamedNode(n)), None) => {
                Some(Box::new(self.constant_map(at, n.into(), Role::Datatype)?))
            }
            (Some(other), None) => return Err(at.error(format!("rml:datatype must be an IRI, not {other}"))),
            (None, Some(map)) => Some(Box::new(self.term_map(at, as_node(at, map)?, Role::Datatype)?)),
            (None, None) => None,
        };
        let language = match (self.one(at, node, "language")?, self.one(at, node, "languageMap")?) {
            (Some(_), Some(_)) => return Err(at.error("both rml:language and rml:languageMap")),
            (Some(TermRef::Literal(tag)), None) => {
                let tag = tag.value();
                check_language(tag).map_err(|e| at.error(e))?;
                Some(Box::new(TermMap::constant_string(at, tag)))
            }
            (Some(other), None) => {
                return Err(at.error(format!("rml:language must be a string, not {other}")));
            }
            (None, Some(map)) => Some(Box::new(self.term_map(at, as_node(at, map)?, Role::Language)?)),
            (None, None) => None,
        };
        if datatype.is_some() && language.is_some() {
            return Err(at.error("a term map cannot have both a datatype and a language"));
        }
        let generator = match (constant, reference, template) {
            (Some(c), None, None) => {
                let kind = match c {
                    TermRef::NamedNode(_) => TermType::Iri,
                    TermRef::BlankNode(_) => TermType::BlankNode,
                    TermRef::Literal(_) => TermType::Literal,
                    TermRef::Triple(_) => return Err(at.error("a constant cannot be a triple term")),
                };
                if let Some(declared) = declared
                    && declared != kind
                    && !(matches!(declared, TermType::UnsafeIri | TermType::Uri) && kind == TermType::Iri)
                {
                    return Err(at.error(format!("the constant {c} does not have the declared term type")));
                }
                Generator::Constant(c.into_owned())
            }
            (None, Some(r), None) => Generator::Reference(r),
            (None, None, Some(t)) => Generator::Template(template::parse(&t).map_err(|e| at.error(e))?),
            (None, None, None) if declared == Some(TermType::BlankNode) => Generator::Fresh,
            (None, None, None) => {
                return Err(at.error("a term map needs one of rml:constant, rml:reference or rml:template"));
            }
            _ => {
                return Err(
                    at.error("a term map has more than one of rml:constant, rml:reference, rml:template")
                );
            }
        };
        let term_type = match (declared, &generator) {
            (Some(t), _) => t,
            (None, Generator::Constant(c)) => match c {
                Term::NamedNode(_) => TermType::Iri,
                Term::BlankNode(_) => TermType::BlankNode,
                Term::Literal(_) => TermType::Literal,
                Term::Triple(_) => return Err(at.error("a constant cannot be a triple term")),
            },
            (None, _) if matches!(role, Role::Object | Role::Language | Role::Join) => {
                if matches!(generator, Generator::Reference(_)) || datatype.is_some() || language.is_some() {
                    TermType::Literal
                } else if role == Role::Object {
                    TermType::Iri
                } else {
                    TermType::Literal
                }
            }
            (None, _) => TermType::Iri,
        };
        if (datatype.is_some() || language.is_some()) && term_type != TermType::Literal {
            return Err(at.error("a datatype or language needs the term type rml:Literal"));
        }
        check_role(at, role, term_type)?;
        let graphs =
            if role == Role::Subject || role == Role::Object { self.graphs(at, node)? } else { Vec::new() };
        if role == Role::Object && !graphs.is_empty() {
            return Err(at.error("an object map cannot have a graph map"));
        }
        let targets = self.targets(at, node)?;
        Ok(TermMap { location: at.clone(), generator, term_type, datatype, language, graphs, targets })
    }

    fn source(&self, at: &Location, node: NamedOrBlankNodeRef<'_>) -> Result<SourceSpec> {
        let at = &at.term("logical source");
        let iterator = self.string(at, node, "iterator")?;
        let mut namespaces = Vec::new();
        let formulation = match self.one(at, node, "referenceFormulation")? {
            None => None,
            Some(TermRef::NamedNode(n)) => Some(formulation(at, n.as_str())?),
            Some(TermRef::BlankNode(b)) => {
                let b = NamedOrBlankNodeRef::from(b);
                let types: Vec<String> = self
                    .graph
                    .objects_for_subject_predicate(b, rdf::TYPE)
                    .filter_map(|t| match t {
                        TermRef::NamedNode(n) => Some(n.as_str().to_owned()),
                        _ => None,
                    })
                    .collect();
                for ns in self.all(b, "namespace") {
                    let ns = as_node(at, ns)?;
                    match (self.string(at, ns, "namespacePrefix")?, self.string(at, ns, "namespaceURL")?) {
                        (Some(prefix), Some(url)) => namespaces.push((prefix, url)),
                        _ => {
                            return Err(
                                at.error("a namespace needs rml:namespacePrefix and rml:namespaceURL")
                            );
                        }
                    }
                }
                match types.iter().find_map(|t| formulation(at, t).ok()) {
                    Some(kind) => Some(kind),
                    None if types.iter().any(|t| t.ends_with("XPathReferenceFormulation")) => {
                        Some(SourceKind::Xml)
                    }
                    None => return Err(at.error("unknown reference formulation")),
                }
            }
            Some(other) => return Err(at.error(format!("unknown reference formulation {other}"))),
        };
        let mut nulls = Vec::new();
        let mut utf16 = false;
        let mut compression = Compression::None;
        let input = match self.one(at, node, "source")? {
            None => return Err(at.error("no rml:source")),
            Some(TermRef::Literal(path)) => Input::File(self.dir.join(path.value())),
            Some(TermRef::NamedNode(n)) if n.as_str().starts_with("file:") => {
                Input::File(PathBuf::from(n.as_str().trim_start_matches("file://")))
            }
            Some(TermRef::NamedNode(n)) => return Err(at.error(format!("unsupported source {n}"))),
            Some(TermRef::BlankNode(b)) => {
                let b = NamedOrBlankNodeRef::from(b);
                for null in self.all(b, "null") {
                    match null {
                        TermRef::Literal(l) => nulls.push(l.value().to_owned()),
                        other => return Err(at.error(format!("rml:null must be a string, not {other}"))),
                    }
                }
                if let Some(TermRef::NamedNode(encoding)) = self.one(at, b, "encoding")? {
                    utf16 = encoding.as_str().ends_with("UTF-16");
                }
                if let Some(TermRef::NamedNode(c)) = self.one(at, b, "compression")? {
                    compression = self::compression(at, c.as_str())?;
                }
                let table = self.graph.object_for_subject_predicate(b, &NamedNode::new_unchecked(SAIL_TABLE));
                let csvw_url = self.graph.object_for_subject_predicate(
                    b,
                    &NamedNode::new_unchecked("http://www.w3.org/ns/csvw#url"),
                );
                if let Some(TermRef::Literal(name)) = table {
                    Input::Catalogue(name.value().to_owned())
                } else if let Some(path) = self.string(at, b, "path")? {
                    let root = match self.one(at, b, "root")? {
                        Some(TermRef::NamedNode(r)) if r.as_str().ends_with("CurrentWorkingDirectory") => {
                            self.working_dir.to_path_buf()
                        }
                        Some(TermRef::Literal(r)) => PathBuf::from(r.value()),
                        _ => self.dir.to_path_buf(),
                    };
                    Input::File(root.join(path))
                } else if let Some(TermRef::Literal(url)) = csvw_url {
                    Input::File(self.dir.join(url.value()))
                } else {
                    return Err(at.error("the source has no rml:path"));
                }
            }
            Some(TermRef::Triple(t)) => return Err(at.error(format!("unsupported source {t}"))),
        };
        let kind = match (formulation, &input) {
            (Some(kind), Input::File(path)) if kind == SourceKind::Csv && is_parquet(path) => {
                SourceKind::Parquet
            }
            (Some(kind), _) => kind,
            (None, Input::Catalogue(_)) => SourceKind::Parquet,
            (None, Input::File(path)) => {
                let name = path.to_string_lossy().to_ascii_lowercase();
                let name = name.trim_end_matches(".gz");
                if name.ends_with(".csv") || name.ends_with(".tsv") {
                    SourceKind::Csv
                } else if name.ends_with(".json") {
                    SourceKind::Json
                } else if name.ends_with(".xml") {
                    SourceKind::Xml
                } else if name.ends_with(".parquet") {
                    SourceKind::Parquet
                } else {
                    return Err(at.error(format!("no reference formulation for {}", path.display())));
                }
            }
        };
        if kind == SourceKind::Csv && nulls.is_empty() && self.legacy {
            nulls.push(String::new());
        }
        if matches!(kind, SourceKind::Json | SourceKind::Xml) && iterator.is_none() {
            return Err(at.error("a JSON or XML source needs rml:iterator"));
        }
        if kind == SourceKind::Json
            && let Some(iterator) = &iterator
        {
            serde_json_path::JsonPath::parse(iterator)
                .map_err(|e| at.error(format!("invalid JSONPath iterator {iterator:?}: {e}")))?;
        }
        if kind == SourceKind::Xml
            && let Some(iterator) = &iterator
        {
            crate::xpath::Path::parse(iterator, &namespaces)
                .map_err(|e| at.error(format!("invalid XPath iterator {iterator:?}: {e}")))?;
        }
        Ok(SourceSpec { input, kind, iterator, namespaces, nulls, utf16, compression })
    }
}

/// A well-formed BCP 47 tag whose primary language subtag is a real one: 2–3 letters (ISO 639),
/// or `i`/`x` for grandfathered and private-use tags. Syntax alone allows 5–8 letters, which no
/// language has, and which mostly catch names like "english".
pub(crate) fn check_language(tag: &str) -> std::result::Result<(), String> {
    Literal::new_language_tagged_literal("", tag)
        .map_err(|e| format!("invalid language tag {tag:?}: {e}"))?;
    let primary = tag.split('-').next().unwrap_or("");
    if (2..=3).contains(&primary.len())
        || primary.eq_ignore_ascii_case("i")
        || primary.eq_ignore_ascii_case("x")
    {
        Ok(())
    } else {
        Err(format!("invalid language tag {tag:?}: the primary language subtag must have 2 or 3 letters"))
    }
}

fn compression(at: &Location, iri: &str) -> Result<Compression> {
    Ok(match iri.rsplit(['/', '#']).next().unwrap_or("") {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "zip" => Compression::Zip,
        "targz" | "targzip" => Compression::TarGzip,
        "tarxz" => Compression::TarXz,
        other => return Err(at.error(format!("unknown compression {other}"))),
    })
}

fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

fn formulation(at: &Location, iri: &str) -> Result<SourceKind> {
    let local = iri.strip_prefix(RML).or_else(|| iri.strip_prefix(QL)).unwrap_or("");
    match local {
        "CSV" => Ok(SourceKind::Csv),
        "JSONPath" => Ok(SourceKind::Json),
        "XPath" | "XPathReferenceFormulation" => Ok(SourceKind::Xml),
        _ => Err(at.error(format!("unsupported reference formulation {iri}"))),
    }
}

fn as_node<'a>(at: &Location, term: TermRef<'a>) -> Result<NamedOrBlankNodeRef<'a>> {
    match term {
        TermRef::NamedNode(n) => Ok(n.into()),
        TermRef::BlankNode(b) => Ok(b.into()),
        TermRef::Literal(l) => Err(at.error(format!("expected a resource, found the literal {l}"))),
        TermRef::Triple(t) => Err(at.error(format!("expected a resource, found the triple term {t}"))),
    }
}

fn check_role(at: &Location, role: Role, term_type: TermType) -> Result<()> {
    let ok = match role {
        Role::Subject => term_type != TermType::Literal,
        Role::Predicate | Role::Graph | Role::Datatype => {
            matches!(term_type, TermType::Iri | TermType::Uri | TermType::UnsafeIri)
        }
        Role::Object | Role::Language | Role::Join => true,
    };
    if ok {
        Ok(())
    } else {
        let what = match role {
            Role::Subject => "a subject cannot be a literal",
            Role::Predicate => "a predicate must be an IRI",
            Role::Graph => "a graph name must be an IRI",
            _ => "a datatype must be an IRI",
        };
        Err(at.error(what))
    }
}

impl TermMap {
    fn reference(at: &Location, reference: String) -> Self {
        Self {
            location: at.clone(),
            generator: Generator::Reference(reference),
            term_type: TermType::Literal,
            datatype: None,
            language: None,
            graphs: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn constant_string(at: &Location, value: &str) -> Self {
        Self {
            location: at.clone(),
            generator: Generator::Constant(Literal::new_simple_literal(value).into()),
            term_type: TermType::Literal,
            datatype: None,
            language: None,
            graphs: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// The logical targets of this term map and of its datatype and language maps.
    pub(crate) fn all_targets(&self, out: &mut Vec<usize>) {
        for t in &self.targets {
            if !out.contains(t) {
                out.push(*t);
            }
        }
        for m in self.datatype.iter().chain(&self.language) {
            m.all_targets(out);
        }
    }

    /// Whether this is the constant `rml:defaultGraph`.
    pub(crate) fn is_default_graph(&self) -> bool {
        matches!(&self.generator, Generator::Constant(Term::NamedNode(n))
            if n.as_str().strip_prefix(RML).or_else(|| n.as_str().strip_prefix(RR)) == Some("defaultGraph"))
    }
}
