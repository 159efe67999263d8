//! Ontology curation: change sets proposed by a curator, reviewed, applied atomically to the
//! ontology and shapes graphs, recorded with their diff, and revertible.
//!
//! A change set's diff is computed when it is proposed, against the store as it is then, together
//! with a fingerprint of every triple whose subject it touches. Approval applies the diff in one
//! transaction only if that fingerprint is unchanged; otherwise another change set touched the
//! same entities first and this one must be proposed again on top of it (a rebase). Revert applies
//! the inverse diff under the same rule. Nothing in use is deleted: removing an entity is
//! deprecating it (`owl:deprecated`, `dcterms:isReplacedBy`).
//!
//! Change sets live in `urn:sailkg:graph:curation`, each a `sail:ChangeSet` with its JSON, and each
//! decision a `prov:Activity` (who, when, why) that used it.

use crate::{Result, Store, StoreError, shacl};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::vocab::{rdf, rdfs, xsd};
use oxigraph::model::{
    GraphName, GraphNameRef, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, Term, TermRef, Triple,
};
use sailkg_core::vocab;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The graph of change sets and their decisions.
pub const GRAPH_CURATION: &str = "urn:sailkg:graph:curation";

const OWL_CLASS: &str = "http://www.w3.org/2002/07/owl#Class";
const OWL_DEPRECATED: &str = "http://www.w3.org/2002/07/owl#deprecated";
const REPLACED_BY: &str = "http://purl.org/dc/terms/isReplacedBy";
const DEFINITION: &str = "http://www.w3.org/2004/02/skos/core#definition";
const ALT_LABEL: &str = "http://www.w3.org/2004/02/skos/core#altLabel";
const CLOSE_MATCH: &str = "http://www.w3.org/2004/02/skos/core#closeMatch";
const SAME_AS: &str = "http://www.w3.org/2002/07/owl#sameAs";
const SH: &str = "http://www.w3.org/ns/shacl#";
const PROV: &str = "http://www.w3.org/ns/prov#";

/// The SHACL constraints a change set may add or remove, and the kind of value each takes.
const CONSTRAINTS: [(&str, ValueKind); 11] = [
    ("minInclusive", ValueKind::Number),
    ("maxInclusive", ValueKind::Number),
    ("minExclusive", ValueKind::Number),
    ("maxExclusive", ValueKind::Number),
    ("minLength", ValueKind::Count),
    ("maxLength", ValueKind::Count),
    ("minCount", ValueKind::Count),
    ("maxCount", ValueKind::Count),
    ("pattern", ValueKind::Text),
    ("datatype", ValueKind::Iri),
    ("class", ValueKind::Iri),
];

#[derive(Clone, Copy, PartialEq)]
enum ValueKind {
    Number,
    Count,
    Text,
    Iri,
}

fn default_language() -> String {
    "en".into()
}

/// One change of a change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Replaces the entity's `rdfs:label` in `language` ("" for none).
    SetLabel {
        iri: String,
        #[serde(default = "default_language")]
        language: String,
        text: String,
    },
    /// Replaces the entity's `skos:definition` in `language`.
    SetDefinition {
        iri: String,
        #[serde(default = "default_language")]
        language: String,
        text: String,
    },
    /// A new `owl:Class`, optionally under `parent`.
    AddClass {
        iri: String,
        label: String,
        #[serde(default = "default_language")]
        language: String,
        #[serde(default)]
        parent: Option<String>,
    },
    /// Marks the entity `owl:deprecated`, optionally `dcterms:isReplacedBy` another.
    Deprecate {
        iri: String,
        #[serde(default)]
        replaced_by: Option<String>,
    },
    /// A new IRI with the entity's statements; references in the ontology move to it; the old
    /// one stays, deprecated and replaced by the new one.
    Rename { iri: String, to: String },
    /// A constraint on `path` for the instances of `class` (`sh:minInclusive` …), replacing the
    /// one of the same kind.
    AddConstraint { class: String, path: String, constraint: String, value: String },
    /// Removes the constraint of that kind on `path` for `class`.
    RemoveConstraint { class: String, path: String, constraint: String },
    /// Folds `from` into `into`: references move to `into`, their labels become its
    /// `skos:altLabel`s, and each of `from` stays, deprecated and replaced by `into`.
    Merge { from: Vec<String>, into: String },
    /// Splits `iri` into new classes (each with a label, under `iri`'s parents); `iri` stays,
    /// deprecated and replaced by each of them.
    Split { iri: String, into: Vec<NewClass> },
    /// Accepts a suggested link of the review band: `skos:closeMatch` becomes `owl:sameAs`.
    AcceptLink { source: String, target: String },
    /// Rejects a suggested link: the `skos:closeMatch` goes; its record says it was rejected.
    RejectLink { source: String, target: String },
    /// Adds the statements of an RDF document (OWL, RDFS, SKOS concept schemes, SHACL) to the
    /// ontology graph, or the shapes graph with `shapes`: `format` is turtle, rdfxml, jsonld or
    /// ntriples. Statements already there are left out of the diff.
    Import {
        format: String,
        text: String,
        #[serde(default)]
        shapes: bool,
    },
}

/// A class a split creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClass {
    pub iri: String,
    pub label: String,
    #[serde(default = "default_language")]
    pub language: String,
}

/// Where a change set is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Proposed,
    Approved,
    Rejected,
    Reverted,
}

/// The triples a change set removes and adds, as N-Quads lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

/// What a change set would touch in the data, and the constraint violations it would create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    /// Instances of the classes it changes.
    pub instances: u64,
    /// Triples that use the properties it changes.
    pub triples: u64,
    /// The SHACL violations the change set would add, per shape, path and constraint, with a
    /// few of each.
    pub violations: Vec<Violation>,
    /// Violations the change set would resolve.
    #[serde(default)]
    pub resolved: u64,
    /// Focus nodes the engine checked.
    #[serde(default)]
    pub checked: u64,
    /// The SHACL engine (empty when the change set touches no shape, class hierarchy or
    /// constrained class).
    #[serde(default)]
    pub engine: String,
    /// Whether a limit cut the validation short.
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub class: String,
    pub path: String,
    pub constraint: String,
    pub value: String,
    pub count: u64,
    pub examples: Vec<String>,
    /// The engine's message for the first of them.
    #[serde(default)]
    pub message: String,
    /// The shape the constraint belongs to.
    #[serde(default)]
    pub shape: String,
}

/// A decision on a change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub by: String,
    pub at: String,
    pub comment: String,
}

/// A change set and its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub id: u64,
    /// Why: the proposal's reason.
    pub title: String,
    pub author: String,
    pub created: String,
    pub changes: Vec<Change>,
    pub status: Status,
    pub diff: Diff,
    pub impact: Impact,
    /// Subjects whose statements the diff touches.
    pub touched: Vec<String>,
    /// Their fingerprint when proposed, and after approval.
    pub base: String,
    #[serde(default)]
    pub applied: Option<String>,
    #[serde(default)]
    pub review: Option<Decision>,
    #[serde(default)]
    pub revert: Option<Decision>,
}

/// Why a change set cannot be proposed or decided.
#[derive(Debug, thiserror::Error)]
pub enum CurationError {
    /// The change set is wrong: a message for the person.
    #[error("{0}")]
    Invalid(String),
    /// No such change set.
    #[error("no change set {0}")]
    NotFound(u64),
    /// Not in a state that allows it.
    #[error("change set {id} is {status:?}; {action} needs a {needed} one")]
    State { id: u64, status: Status, action: &'static str, needed: &'static str },
    /// Another change touched the same entities since.
    #[error(
        "change set {0} conflicts: the entities it changes were changed since it was proposed; propose it again on the current ontology (rebase)"
    )]
    Conflict(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn named(iri: &str) -> std::result::Result<NamedNode, CurationError> {
    NamedNode::new(iri).map_err(|e| CurationError::Invalid(format!("{iri:?} is not an IRI: {e}")))
}

fn graph(iri: &str) -> NamedNode {
    NamedNode::new_unchecked(iri)
}

fn quad_line(quad: &Quad) -> String {
    format!("{quad} .")
}

fn parse_lines(lines: &[String]) -> std::result::Result<Vec<Quad>, CurationError> {
    let text = lines.join("\n");
    RdfParser::from_format(RdfFormat::NQuads)
        .for_slice(text.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CurationError::Invalid(format!("a stored diff does not parse: {e}")))
}

fn now() -> String {
    sailkg_core::terms::date_time(std::time::SystemTime::now()).value().to_owned()
}

/// The statements of `subjects` in the ontology and shapes graphs, as N-Quads lines.
fn statements(store: &Store, subjects: &[String]) -> Result<BTreeSet<String>> {
    let mut lines = BTreeSet::new();
    for g in [vocab::GRAPH_ONTOLOGY, vocab::GRAPH_SHAPES, vocab::GRAPH_LINKS] {
        let g = graph(g);
        for subject in subjects {
            let Some(subject) = subject_term(subject) else { continue };
            for quad in store.oxigraph().quads_for_pattern(
                Some(subject.as_ref()),
                None,
                None,
                Some(GraphNameRef::NamedNode(g.as_ref())),
            ) {
                lines.insert(quad_line(&quad?));
            }
        }
    }
    Ok(lines)
}

/// SHA-256 of sorted lines.
fn digest(lines: &BTreeSet<String>) -> String {
    let mut hash = Sha256::new();
    for line in lines {
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of the statements of `subjects`.
fn fingerprint(store: &Store, subjects: &[String]) -> Result<String> {
    Ok(digest(&statements(store, subjects)?))
}

fn subject_term(text: &str) -> Option<NamedOrBlankNode> {
    match text.strip_prefix("_:") {
        Some(id) => oxigraph::model::BlankNode::new(id).ok().map(Into::into),
        None => NamedNode::new(text).ok().map(Into::into),
    }
}

fn subject_text(subject: &NamedOrBlankNode) -> String {
    match subject {
        NamedOrBlankNode::NamedNode(n) => n.as_str().to_owned(),
        NamedOrBlankNode::BlankNode(b) => format!("_:{}", b.as_str()),
    }
}

/// Builds the diff of `changes` against the store.
struct Planner<'a> {
    store: &'a Store,
    removed: Vec<Quad>,
    added: Vec<Quad>,
    touched: BTreeSet<String>,
    classes: BTreeSet<String>,
    properties: BTreeSet<String>,
}

impl Planner<'_> {
    fn quads(
        &self,
        s: Option<&NamedOrBlankNode>,
        p: Option<NamedNodeRef<'_>>,
        o: Option<TermRef<'_>>,
        g: &str,
    ) -> Result<Vec<Quad>> {
        let g = graph(g);
        self.store
            .oxigraph()
            .quads_for_pattern(s.map(|s| s.as_ref()), p, o, Some(GraphNameRef::NamedNode(g.as_ref())))
            .map(|q| q.map_err(StoreError::from))
            .collect()
    }

    fn exists(&self, iri: &NamedNode) -> Result<bool> {
        let subject: NamedOrBlankNode = iri.clone().into();
        Ok(!self.quads(Some(&subject), None, None, vocab::GRAPH_ONTOLOGY)?.is_empty()
            || self.added.iter().any(|q| q.subject == subject))
    }

    fn must_exist(&self, iri: &NamedNode) -> std::result::Result<(), CurationError> {
        if self.exists(iri)? {
            Ok(())
        } else {
            Err(CurationError::Invalid(format!("the ontology has no <{}>", iri.as_str())))
        }
    }

    fn remove(&mut self, quad: Quad) {
        self.touched.insert(subject_text(&quad.subject));
        if let Some(i) = self.added.iter().position(|q| *q == quad) {
            self.added.remove(i);
        } else if !self.removed.contains(&quad) {
            self.removed.push(quad);
        }
    }

    fn add(&mut self, quad: Quad) {
        self.touched.insert(subject_text(&quad.subject));
        if let Some(i) = self.removed.iter().position(|q| *q == quad) {
            self.removed.remove(i);
        } else if !self.added.contains(&quad) {
            self.added.push(quad);
        }
    }

    fn kind_of(&mut self, iri: &NamedNode) -> Result<()> {
        let subject: NamedOrBlankNode = iri.clone().into();
        for quad in self.quads(Some(&subject), Some(rdf::TYPE), None, vocab::GRAPH_ONTOLOGY)? {
            match &quad.object {
                Term::NamedNode(t) if t.as_str().ends_with("Class") => {
                    self.classes.insert(iri.as_str().to_owned());
                }
                Term::NamedNode(t) if t.as_str().ends_with("Property") => {
                    self.properties.insert(iri.as_str().to_owned());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn replace_literal(
        &mut self,
        iri: &NamedNode,
        property: NamedNodeRef<'_>,
        language: &str,
        text: &str,
    ) -> std::result::Result<(), CurationError> {
        self.must_exist(iri)?;
        if text.trim().is_empty() {
            return Err(CurationError::Invalid(format!("an empty text for <{}>", iri.as_str())));
        }
        let subject: NamedOrBlankNode = iri.clone().into();
        for quad in self.quads(Some(&subject), Some(property), None, vocab::GRAPH_ONTOLOGY)? {
            if let Term::Literal(l) = &quad.object
                && l.language().unwrap_or("") == language.to_ascii_lowercase()
            {
                self.remove(quad);
            }
        }
        let literal = if language.is_empty() {
            Literal::new_simple_literal(text.trim())
        } else {
            Literal::new_language_tagged_literal(text.trim(), language)
                .map_err(|e| CurationError::Invalid(format!("language {language:?}: {e}")))?
        };
        self.add(Quad::new(iri.clone(), property.into_owned(), literal, graph(vocab::GRAPH_ONTOLOGY)));
        self.kind_of(iri)?;
        Ok(())
    }

    fn deprecate(&mut self, iri: &NamedNode, replaced_by: Option<&NamedNode>) -> Result<()> {
        let ontology = graph(vocab::GRAPH_ONTOLOGY);
        self.add(Quad::new(
            iri.clone(),
            graph(OWL_DEPRECATED),
            Literal::new_typed_literal("true", xsd::BOOLEAN),
            ontology.clone(),
        ));
        if let Some(new) = replaced_by {
            self.add(Quad::new(iri.clone(), graph(REPLACED_BY), new.clone(), ontology));
        }
        self.kind_of(iri)
    }

    /// The node shapes that target `class`, creating one if there is none.
    fn node_shapes(&mut self, class: &NamedNode) -> Result<Vec<NamedOrBlankNode>> {
        let target = graph(&format!("{SH}targetClass"));
        let mut shapes: Vec<NamedOrBlankNode> = self
            .quads(None, Some(target.as_ref()), Some(class.as_ref().into()), vocab::GRAPH_SHAPES)?
            .into_iter()
            .map(|q| q.subject)
            .collect();
        shapes.extend(
            self.added
                .iter()
                .filter(|q| q.predicate == target && q.object == class.clone().into())
                .map(|q| q.subject.clone()),
        );
        shapes.dedup();
        if shapes.is_empty() {
            let node: NamedOrBlankNode = graph(&format!("urn:sailkg:shape:{}", class.as_str())).into();
            let g = graph(vocab::GRAPH_SHAPES);
            self.add(Quad::new(
                node.clone(),
                rdf::TYPE.into_owned(),
                graph(&format!("{SH}NodeShape")),
                g.clone(),
            ));
            self.add(Quad::new(node.clone(), target, class.clone(), g));
            shapes.push(node);
        }
        Ok(shapes)
    }

    /// The property shapes of `shapes` on `path`.
    fn property_shapes(
        &self,
        shapes: &[NamedOrBlankNode],
        path: &NamedNode,
    ) -> Result<Vec<NamedOrBlankNode>> {
        let property = graph(&format!("{SH}property"));
        let sh_path = graph(&format!("{SH}path"));
        let mut found = Vec::new();
        for shape in shapes {
            let mut candidates: Vec<Term> = self
                .quads(Some(shape), Some(property.as_ref()), None, vocab::GRAPH_SHAPES)?
                .into_iter()
                .map(|q| q.object)
                .collect();
            candidates.extend(
                self.added
                    .iter()
                    .filter(|q| &q.subject == shape && q.predicate == property)
                    .map(|q| q.object.clone()),
            );
            for candidate in candidates {
                let Ok(node) = NamedOrBlankNode::try_from(candidate) else { continue };
                let on_path = !self
                    .quads(
                        Some(&node),
                        Some(sh_path.as_ref()),
                        Some(path.as_ref().into()),
                        vocab::GRAPH_SHAPES,
                    )?
                    .is_empty()
                    || self.added.iter().any(|q| {
                        q.subject == node && q.predicate == sh_path && q.object == path.clone().into()
                    });
                if on_path && !found.contains(&node) {
                    found.push(node);
                }
            }
        }
        Ok(found)
    }

    /// Moves the ontology's references to `old` (as object) onto `new`.
    fn repoint(&mut self, old: &NamedNode, new: &NamedNode) -> Result<()> {
        let subject: NamedOrBlankNode = old.clone().into();
        for quad in self.quads(None, None, Some(old.as_ref().into()), vocab::GRAPH_ONTOLOGY)? {
            if quad.predicate.as_str() == REPLACED_BY || quad.subject == subject {
                continue;
            }
            let moved =
                Quad::new(quad.subject.clone(), quad.predicate.clone(), new.clone(), quad.graph_name.clone());
            self.remove(quad);
            self.add(moved);
        }
        Ok(())
    }

    fn constraint_value(constraint: &str, value: &str) -> std::result::Result<Term, CurationError> {
        let kind =
            CONSTRAINTS.iter().find(|(name, _)| *name == constraint).map(|(_, k)| *k).ok_or_else(|| {
                CurationError::Invalid(format!(
                    "unknown constraint {constraint:?}; one of {}",
                    CONSTRAINTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ))
            })?;
        let value = value.trim();
        Ok(match kind {
            ValueKind::Number => {
                value.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                    CurationError::Invalid(format!("sh:{constraint} needs a number, not {value:?}"))
                })?;
                let datatype = if value.contains(['.', 'e', 'E']) { xsd::DECIMAL } else { xsd::INTEGER };
                let lexical = if datatype == xsd::DECIMAL {
                    value.parse::<f64>().map(|v| v.to_string()).unwrap_or_default()
                } else {
                    value.to_owned()
                };
                Literal::new_typed_literal(lexical, datatype).into()
            }
            ValueKind::Count => {
                let n: u64 = value.parse().map_err(|_| {
                    CurationError::Invalid(format!(
                        "sh:{constraint} needs a non-negative integer, not {value:?}"
                    ))
                })?;
                Literal::new_typed_literal(n.to_string(), xsd::INTEGER).into()
            }
            ValueKind::Text => {
                regex_syntax_check(value)?;
                Literal::new_simple_literal(value).into()
            }
            ValueKind::Iri => named(value)?.into(),
        })
    }

    fn plan(&mut self, change: &Change) -> std::result::Result<(), CurationError> {
        let ontology = graph(vocab::GRAPH_ONTOLOGY);
        match change {
            Change::SetLabel { iri, language, text } => {
                self.replace_literal(&named(iri)?, rdfs::LABEL, language, text)
            }
            Change::SetDefinition { iri, language, text } => {
                self.replace_literal(&named(iri)?, graph(DEFINITION).as_ref(), language, text)
            }
            Change::AddClass { iri, label, language, parent } => {
                let iri = named(iri)?;
                if self.exists(&iri)? {
                    return Err(CurationError::Invalid(format!("<{}> exists already", iri.as_str())));
                }
                self.add(Quad::new(iri.clone(), rdf::TYPE.into_owned(), graph(OWL_CLASS), ontology.clone()));
                if let Some(parent) = parent {
                    let parent = named(parent)?;
                    self.must_exist(&parent)?;
                    self.add(Quad::new(iri.clone(), rdfs::SUB_CLASS_OF.into_owned(), parent, ontology));
                }
                self.replace_literal(&iri, rdfs::LABEL, language, label)?;
                self.classes.insert(iri.as_str().to_owned());
                Ok(())
            }
            Change::Deprecate { iri, replaced_by } => {
                let iri = named(iri)?;
                self.must_exist(&iri)?;
                let replaced_by = replaced_by.as_deref().map(named).transpose()?;
                if let Some(new) = &replaced_by {
                    self.must_exist(new)?;
                }
                Ok(self.deprecate(&iri, replaced_by.as_ref())?)
            }
            Change::Rename { iri, to } => {
                let (old, new) = (named(iri)?, named(to)?);
                self.must_exist(&old)?;
                if self.exists(&new)? {
                    return Err(CurationError::Invalid(format!("<{}> exists already", new.as_str())));
                }
                let subject: NamedOrBlankNode = old.clone().into();
                for quad in self.quads(Some(&subject), None, None, vocab::GRAPH_ONTOLOGY)? {
                    if quad.predicate.as_str() != OWL_DEPRECATED && quad.predicate.as_str() != REPLACED_BY {
                        self.add(Quad::new(new.clone(), quad.predicate, quad.object, ontology.clone()));
                    }
                }
                for quad in self.quads(None, None, Some(old.as_ref().into()), vocab::GRAPH_ONTOLOGY)? {
                    if quad.predicate.as_str() == REPLACED_BY || quad.subject == subject {
                        continue;
                    }
                    self.add(Quad::new(
                        quad.subject.clone(),
                        quad.predicate.clone(),
                        new.clone(),
                        ontology.clone(),
                    ));
                    self.remove(quad);
                }
                self.deprecate(&old, Some(&new))?;
                self.kind_of(&new)?;
                Ok(())
            }
            Change::AddConstraint { class, path, constraint, value } => {
                let (class, path) = (named(class)?, named(path)?);
                self.must_exist(&class)?;
                let object = Self::constraint_value(constraint, value)?;
                let predicate = graph(&format!("{SH}{constraint}"));
                let shapes = self.node_shapes(&class)?;
                let mut properties = self.property_shapes(&shapes, &path)?;
                let g = graph(vocab::GRAPH_SHAPES);
                if properties.is_empty() {
                    let local: String = path
                        .as_str()
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    let node: NamedOrBlankNode =
                        graph(&format!("urn:sailkg:shape:{}/{local}", class.as_str())).into();
                    self.add(Quad::new(
                        shapes[0].clone(),
                        graph(&format!("{SH}property")),
                        match &node {
                            NamedOrBlankNode::NamedNode(n) => Term::NamedNode(n.clone()),
                            NamedOrBlankNode::BlankNode(b) => Term::BlankNode(b.clone()),
                        },
                        g.clone(),
                    ));
                    self.add(Quad::new(node.clone(), graph(&format!("{SH}path")), path.clone(), g.clone()));
                    properties.push(node);
                }
                for node in &properties {
                    for quad in self.quads(Some(node), Some(predicate.as_ref()), None, vocab::GRAPH_SHAPES)? {
                        self.remove(quad);
                    }
                }
                self.add(Quad::new(properties[0].clone(), predicate, object, g));
                self.classes.insert(class.as_str().to_owned());
                self.properties.insert(path.as_str().to_owned());
                Ok(())
            }
            Change::Merge { from, into } => {
                let into = named(into)?;
                self.must_exist(&into)?;
                if from.is_empty() {
                    return Err(CurationError::Invalid("merge needs at least one entity in from".into()));
                }
                for old in from {
                    let old = named(old)?;
                    self.must_exist(&old)?;
                    if old == into {
                        return Err(CurationError::Invalid(format!(
                            "<{}> cannot merge into itself",
                            old.as_str()
                        )));
                    }
                    self.repoint(&old, &into)?;
                    let subject: NamedOrBlankNode = old.clone().into();
                    for quad in self.quads(Some(&subject), Some(rdfs::LABEL), None, vocab::GRAPH_ONTOLOGY)? {
                        self.add(Quad::new(into.clone(), graph(ALT_LABEL), quad.object, ontology.clone()));
                    }
                    self.deprecate(&old, Some(&into))?;
                }
                self.kind_of(&into)?;
                Ok(())
            }
            Change::Split { iri, into } => {
                let old = named(iri)?;
                self.must_exist(&old)?;
                if into.len() < 2 {
                    return Err(CurationError::Invalid("split needs at least two new classes".into()));
                }
                let subject: NamedOrBlankNode = old.clone().into();
                let parents: Vec<Term> = self
                    .quads(Some(&subject), Some(rdfs::SUB_CLASS_OF), None, vocab::GRAPH_ONTOLOGY)?
                    .into_iter()
                    .map(|q| q.object)
                    .collect();
                for new in into {
                    let iri = named(&new.iri)?;
                    if self.exists(&iri)? {
                        return Err(CurationError::Invalid(format!("<{}> exists already", iri.as_str())));
                    }
                    self.add(Quad::new(
                        iri.clone(),
                        rdf::TYPE.into_owned(),
                        graph(OWL_CLASS),
                        ontology.clone(),
                    ));
                    for parent in &parents {
                        self.add(Quad::new(
                            iri.clone(),
                            rdfs::SUB_CLASS_OF.into_owned(),
                            parent.clone(),
                            ontology.clone(),
                        ));
                    }
                    self.replace_literal(&iri, rdfs::LABEL, &new.language, &new.label)?;
                    self.deprecate(&old, Some(&iri))?;
                }
                Ok(())
            }
            Change::AcceptLink { source, target } | Change::RejectLink { source, target } => {
                let accept = matches!(change, Change::AcceptLink { .. });
                let (source, target) = (named(source)?, named(target)?);
                let links = graph(vocab::GRAPH_LINKS);
                let subject: NamedOrBlankNode = source.clone().into();
                let close = graph(CLOSE_MATCH);
                let suggested = self.quads(
                    Some(&subject),
                    Some(close.as_ref()),
                    Some(target.as_ref().into()),
                    vocab::GRAPH_LINKS,
                )?;
                if suggested.is_empty() {
                    return Err(CurationError::Invalid(format!(
                        "no suggested link (skos:closeMatch) from <{}> to <{}>",
                        source.as_str(),
                        target.as_str()
                    )));
                }
                for quad in suggested {
                    self.remove(quad);
                }
                if accept {
                    self.add(Quad::new(source.clone(), graph(SAME_AS), target.clone(), links.clone()));
                }
                // The link's record: its relation follows, and it says it was reviewed.
                let sail = |local: &str| graph(&format!("{}{local}", vocab::SAIL));
                let link_source = sail("linkSource");
                for record in self.quads(
                    None,
                    Some(link_source.as_ref()),
                    Some(source.as_ref().into()),
                    vocab::GRAPH_LINKS,
                )? {
                    let node = record.subject;
                    let target_pred = sail("linkTarget");
                    if self
                        .quads(
                            Some(&node),
                            Some(target_pred.as_ref()),
                            Some(target.as_ref().into()),
                            vocab::GRAPH_LINKS,
                        )?
                        .is_empty()
                    {
                        continue;
                    }
                    let relation = sail("linkRelation");
                    for quad in self.quads(Some(&node), Some(relation.as_ref()), None, vocab::GRAPH_LINKS)? {
                        self.remove(quad);
                    }
                    if accept {
                        self.add(Quad::new(node.clone(), relation, graph(SAME_AS), links.clone()));
                    }
                    self.add(Quad::new(
                        node,
                        sail("review"),
                        Literal::new_simple_literal(if accept { "accepted" } else { "rejected" }),
                        links.clone(),
                    ));
                }
                Ok(())
            }
            Change::Import { format, text, shapes } => {
                let format = match format.to_ascii_lowercase().as_str() {
                    "turtle" | "ttl" => RdfFormat::Turtle,
                    "rdfxml" | "rdf/xml" | "xml" | "owl" => RdfFormat::RdfXml,
                    "jsonld" | "json-ld" => {
                        RdfFormat::JsonLd { profile: oxigraph::io::JsonLdProfileSet::empty() }
                    }
                    "ntriples" | "nt" => RdfFormat::NTriples,
                    other => {
                        return Err(CurationError::Invalid(format!(
                            "import format {other:?}: turtle, rdfxml, jsonld or ntriples"
                        )));
                    }
                };
                let target = if *shapes { vocab::GRAPH_SHAPES } else { vocab::GRAPH_ONTOLOGY };
                let parser =
                    RdfParser::from_format(format).without_named_graphs().with_default_graph(graph(target));
                let mut count = 0;
                for quad in parser.for_slice(text.as_bytes()) {
                    let quad = quad.map_err(|e| CurationError::Invalid(format!("import: {e}")))?;
                    count += 1;
                    let present = self.store.oxigraph().contains(&quad).map_err(StoreError::from)?;
                    if !present {
                        if let NamedOrBlankNode::NamedNode(n) = &quad.subject
                            && quad.predicate == rdf::TYPE
                            && let Term::NamedNode(t) = &quad.object
                        {
                            if t.as_str().ends_with("Class") {
                                self.classes.insert(n.as_str().to_owned());
                            } else if t.as_str().ends_with("Property") {
                                self.properties.insert(n.as_str().to_owned());
                            }
                        }
                        self.add(quad);
                    }
                }
                if count == 0 {
                    return Err(CurationError::Invalid("import: the document has no statements".into()));
                }
                Ok(())
            }
            Change::RemoveConstraint { class, path, constraint } => {
                let (class, path) = (named(class)?, named(path)?);
                let predicate = graph(&format!("{SH}{constraint}"));
                let target = graph(&format!("{SH}targetClass"));
                let shapes: Vec<NamedOrBlankNode> = self
                    .quads(None, Some(target.as_ref()), Some(class.as_ref().into()), vocab::GRAPH_SHAPES)?
                    .into_iter()
                    .map(|q| q.subject)
                    .collect();
                let mut removed = 0;
                for node in self.property_shapes(&shapes, &path)? {
                    for quad in
                        self.quads(Some(&node), Some(predicate.as_ref()), None, vocab::GRAPH_SHAPES)?
                    {
                        self.remove(quad);
                        removed += 1;
                    }
                }
                if removed == 0 {
                    return Err(CurationError::Invalid(format!(
                        "no sh:{constraint} on <{}> for <{}> to remove",
                        path.as_str(),
                        class.as_str()
                    )));
                }
                self.classes.insert(class.as_str().to_owned());
                Ok(())
            }
        }
    }
}

/// `pattern` must be a regular expression SPARQL can use.
fn regex_syntax_check(pattern: &str) -> std::result::Result<(), CurationError> {
    if pattern.is_empty() || pattern.len() > 1000 {
        return Err(CurationError::Invalid(
            "sh:pattern needs a regular expression of 1 to 1000 characters".into(),
        ));
    }
    Ok(())
}

/// Counts what `planner` changes in the data, and validates the data with the SHACL engine
/// against the shapes and class hierarchy as they are and as they would be: the violations only
/// the new state has are the change set's, those only the old state has it resolves.
fn impact(
    store: &Store,
    planner: &Planner<'_>,
    budget_secs: u64,
) -> std::result::Result<Impact, CurationError> {
    let mut impact = Impact::default();
    let timeout = std::time::Duration::from_secs(budget_secs);
    let select = |query: &str| store.select_strings(query, timeout);
    let first_number = |rows: Vec<Vec<Option<String>>>| {
        rows.first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    for class in &planner.classes {
        impact.instances += first_number(select(&format!(
            "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a <{class}> }} }}"
        ))?);
    }
    for property in &planner.properties {
        impact.triples += first_number(select(&format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s <{property}> ?o }} }}"
        ))?);
    }

    let before_shapes = shacl::shapes_graph(store)?;
    let before_hierarchy = shacl::hierarchy(store)?;
    let after = |before: &[Triple], g: &str, predicate: Option<NamedNodeRef<'_>>| {
        let g = graph(g);
        let mine = |q: &&Quad| {
            q.graph_name == GraphName::NamedNode(g.clone()) && predicate.is_none_or(|p| q.predicate == p)
        };
        let removed: HashSet<Triple> =
            planner.removed.iter().filter(mine).map(|q| q.clone().into()).collect();
        let mut triples: Vec<Triple> = before.iter().filter(|t| !removed.contains(*t)).cloned().collect();
        let present: HashSet<Triple> = triples.iter().cloned().collect();
        triples.extend(
            planner
                .added
                .iter()
                .filter(mine)
                .map(|q| Triple::from(q.clone()))
                .filter(|t| !present.contains(t)),
        );
        triples
    };
    let after_shapes = after(&before_shapes, vocab::GRAPH_SHAPES, None);
    let after_hierarchy = after(&before_hierarchy, vocab::GRAPH_ONTOLOGY, Some(rdfs::SUB_CLASS_OF));
    if before_shapes == after_shapes && before_hierarchy == after_hierarchy {
        return Ok(impact);
    }

    // The shapes to gather focus nodes for: those the change set edits (with every shape that
    // reaches them), and those that target the classes it changes or their superclasses.
    let all_shapes: Vec<&Triple> = before_shapes.iter().chain(&after_shapes).collect();
    let mut referrers: HashMap<Term, Vec<&NamedOrBlankNode>> = HashMap::new();
    for t in &all_shapes {
        if t.predicate != rdf::TYPE {
            referrers.entry(t.object.clone()).or_default().push(&t.subject);
        }
    }
    let mut queue: Vec<NamedOrBlankNode> = planner
        .removed
        .iter()
        .chain(&planner.added)
        .filter(|q| q.graph_name == GraphName::NamedNode(graph(vocab::GRAPH_SHAPES)))
        .map(|q| q.subject.clone())
        .collect();
    let mut classes: HashSet<Term> = planner.classes.iter().map(|c| Term::from(graph(c))).collect();
    for t in planner.removed.iter().chain(&planner.added).filter(|q| q.predicate == rdfs::SUB_CLASS_OF) {
        classes.insert(t.subject.clone().into());
        classes.insert(t.object.clone());
    }
    let both: Vec<Triple> = before_hierarchy.iter().chain(&after_hierarchy).cloned().collect();
    let classes = shacl::with_superclasses(&both, classes);
    queue.extend(shacl::targeting(all_shapes.iter().copied(), &classes));
    let mut scope = shacl::Scope::new();
    while let Some(node) = queue.pop() {
        if scope.insert(node.clone()) {
            queue.extend(referrers.get(&Term::from(node)).into_iter().flatten().map(|s| (*s).clone()));
        }
    }

    let limits = shacl::Limits::default();
    let invalid = |when: &str, e: StoreError| match e {
        StoreError::Shacl(m) => {
            CurationError::Invalid(format!("the shapes graph {when} this change set: {m}"))
        }
        other => other.into(),
    };
    // One read of the data for both states.
    let data = shacl::gather(
        store,
        &[(&before_shapes, &before_hierarchy), (&after_shapes, &after_hierarchy)],
        Some(&scope),
        &limits,
    )?;
    let old = data.check(&before_shapes, &before_hierarchy, &limits).map_err(|e| invalid("before", e))?;
    let new = data.check(&after_shapes, &after_hierarchy, &limits).map_err(|e| invalid("after", e))?;
    let old_set: HashSet<&shacl::Finding> =
        old.findings.iter().filter(|f| f.severity == "Violation").collect();
    let new_set: HashSet<&shacl::Finding> =
        new.findings.iter().filter(|f| f.severity == "Violation").collect();
    impact.resolved = old_set.difference(&new_set).count() as u64;
    impact.checked = data.focus_nodes;
    impact.truncated = old.truncated || new.truncated;
    impact.engine = shacl::ENGINE.to_owned();

    // The new violations, one row per shape, path and constraint.
    let mut groups: BTreeMap<(String, String, String), Vec<&shacl::Finding>> = BTreeMap::new();
    for f in new.findings.iter().filter(|f| new_set.contains(f) && !old_set.contains(f)) {
        groups.entry((f.shape.clone(), f.path.clone(), f.component.clone())).or_default().push(f);
    }
    let target_class = graph(&format!("{SH}targetClass"));
    let targets: HashMap<&NamedOrBlankNode, &Term> =
        all_shapes.iter().filter(|t| t.predicate == target_class).map(|t| (&t.subject, &t.object)).collect();
    for ((shape, path, _), findings) in groups {
        let constraint = findings[0].constraint();
        let parameter = graph(&format!("{SH}{constraint}"));
        let node = subject_term(&shape);
        // The constraint's value, and the class the shape (or a shape reaching it) targets.
        let value = after_shapes
            .iter()
            .find(|t| Some(&t.subject) == node.as_ref() && t.predicate == parameter)
            .map(|t| crate::term_text(&t.object))
            .unwrap_or_default();
        let mut class = String::new();
        let mut seen = HashSet::new();
        let mut walk: Vec<NamedOrBlankNode> = node.into_iter().collect();
        while let Some(node) = walk.pop() {
            if let Some(target) = targets.get(&node) {
                class = crate::term_text(target);
                break;
            }
            if seen.insert(node.clone()) {
                walk.extend(referrers.get(&Term::from(node)).into_iter().flatten().map(|s| (*s).clone()));
            }
        }
        impact.violations.push(Violation {
            class,
            path,
            constraint,
            value,
            count: findings.len() as u64,
            examples: findings
                .iter()
                .take(5)
                .map(
                    |f| {
                        if f.value.is_empty() {
                            f.focus.clone()
                        } else {
                            format!("{} = {}", f.focus, f.value)
                        }
                    },
                )
                .collect(),
            message: findings[0].message.clone(),
            shape,
        });
    }
    Ok(impact)
}

/// Proposals and decisions of this process, one at a time: ids are unique, and a decision's
/// fingerprint check and its transaction see no other decision in between.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The change sets of a store.
pub struct Curation<'a> {
    store: &'a Store,
    /// Seconds each impact query may take.
    pub timeout_secs: u64,
}

impl<'a> Curation<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self { store, timeout_secs: 30 }
    }

    fn node(id: u64) -> NamedNode {
        graph(&format!("urn:sailkg:changeset:{id}"))
    }

    fn payload() -> NamedNode {
        graph(&format!("{}payload", vocab::SAIL))
    }

    /// Every change set, newest first.
    pub fn list(&self) -> std::result::Result<Vec<ChangeSet>, CurationError> {
        let payload = Self::payload();
        let g = graph(GRAPH_CURATION);
        let mut sets = Vec::new();
        for quad in self.store.oxigraph().quads_for_pattern(
            None,
            Some(payload.as_ref()),
            None,
            Some(GraphNameRef::NamedNode(g.as_ref())),
        ) {
            if let Term::Literal(l) = quad.map_err(StoreError::from)?.object {
                let set: ChangeSet = serde_json::from_str(l.value())
                    .map_err(|e| CurationError::Invalid(format!("a stored change set does not read: {e}")))?;
                sets.push(set);
            }
        }
        sets.sort_by_key(|s| std::cmp::Reverse(s.id));
        Ok(sets)
    }

    pub fn get(&self, id: u64) -> std::result::Result<ChangeSet, CurationError> {
        self.list()?.into_iter().find(|s| s.id == id).ok_or(CurationError::NotFound(id))
    }

    /// Computes the diff and impact of `changes` and stores the proposal.
    pub fn propose(
        &self,
        author: &str,
        title: &str,
        changes: Vec<Change>,
    ) -> std::result::Result<ChangeSet, CurationError> {
        if changes.is_empty() {
            return Err(CurationError::Invalid("a change set needs at least one change".into()));
        }
        if changes.len() > 1000 {
            return Err(CurationError::Invalid("a change set has at most 1000 changes".into()));
        }
        if title.trim().is_empty() || title.len() > 1000 {
            return Err(CurationError::Invalid(
                "say why: a change set needs a title of 1 to 1000 bytes".into(),
            ));
        }
        let mut planner = Planner {
            store: self.store,
            removed: Vec::new(),
            added: Vec::new(),
            touched: BTreeSet::new(),
            classes: BTreeSet::new(),
            properties: BTreeSet::new(),
        };
        for (i, change) in changes.iter().enumerate() {
            planner.plan(change).map_err(|e| match e {
                CurationError::Invalid(m) => CurationError::Invalid(format!("change {}: {m}", i + 1)),
                other => other,
            })?;
        }
        let touched: Vec<String> = planner.touched.iter().cloned().collect();
        let impact = impact(self.store, &planner, self.timeout_secs)?;
        let _serial = serial();
        let id = self.list()?.first().map_or(1, |s| s.id + 1);
        let set = ChangeSet {
            id,
            title: title.trim().to_owned(),
            author: author.to_owned(),
            created: now(),
            changes,
            status: Status::Proposed,
            diff: Diff {
                removed: planner.removed.iter().map(quad_line).collect(),
                added: planner.added.iter().map(quad_line).collect(),
            },
            impact,
            base: fingerprint(self.store, &touched)?,
            touched,
            applied: None,
            review: None,
            revert: None,
        };
        self.save(&set, None, &[], &[])?;
        Ok(set)
    }

    /// Writes `set` (replacing its earlier JSON), applies `remove`/`add`, and records `activity`,
    /// all in one transaction.
    fn save(
        &self,
        set: &ChangeSet,
        activity: Option<(&str, &Decision)>,
        remove: &[Quad],
        add: &[Quad],
    ) -> std::result::Result<(), CurationError> {
        let g = graph(GRAPH_CURATION);
        let node = Self::node(set.id);
        let payload = Self::payload();
        let json = serde_json::to_string(set).map_err(|e| CurationError::Invalid(e.to_string()))?;
        let mut transaction = self.store.oxigraph().start_transaction().map_err(StoreError::from)?;
        let old: Vec<Quad> = self
            .store
            .oxigraph()
            .quads_for_pattern(
                Some(node.as_ref().into()),
                Some(payload.as_ref()),
                None,
                Some(GraphNameRef::NamedNode(g.as_ref())),
            )
            .collect::<std::result::Result<_, _>>()
            .map_err(StoreError::from)?;
        for quad in &old {
            transaction.remove(quad);
        }
        for quad in remove {
            transaction.remove(quad);
        }
        for quad in add {
            transaction.insert(quad);
        }
        let sail = |local: &str| graph(&format!("{}{local}", vocab::SAIL));
        let prov = |local: &str| graph(&format!("{PROV}{local}"));
        let text = |s: &str| Literal::new_simple_literal(s);
        transaction.insert(&Quad::new(node.clone(), payload, text(&json), g.clone()));
        transaction.insert(&Quad::new(node.clone(), rdf::TYPE.into_owned(), sail("ChangeSet"), g.clone()));
        transaction.insert(&Quad::new(node.clone(), rdfs::LABEL.into_owned(), text(&set.title), g.clone()));
        if activity.is_none() && set.status == Status::Proposed {
            transaction.insert(&Quad::new(
                node.clone(),
                prov("wasAttributedTo"),
                text(&set.author),
                g.clone(),
            ));
        }
        if let Some((what, decision)) = activity {
            let act = graph(&format!("{}/{what}", node.as_str()));
            for (p, o) in [
                (rdf::TYPE.into_owned(), Term::from(prov("Activity"))),
                (rdfs::LABEL.into_owned(), text(&format!("{what} of change set {}", set.id)).into()),
                (prov("used"), node.clone().into()),
                (sail("agent"), text(&decision.by).into()),
                (prov("endedAtTime"), Literal::new_typed_literal(&decision.at, xsd::DATE_TIME).into()),
                (rdfs::COMMENT.into_owned(), text(&decision.comment).into()),
                (sail("removed"), Literal::new_typed_literal(remove.len().to_string(), xsd::INTEGER).into()),
                (sail("added"), Literal::new_typed_literal(add.len().to_string(), xsd::INTEGER).into()),
            ] {
                transaction.insert(&Quad::new(act.clone(), p, o, g.clone()));
            }
        }
        transaction.commit().map_err(StoreError::from)?;
        self.store.mark_changed();
        Ok(())
    }

    /// The change set `id` with a decision by `by`, if its status is `needed` for `action`.
    fn decide(
        &self,
        id: u64,
        by: &str,
        comment: &str,
        needed: Status,
        action: &'static str,
    ) -> std::result::Result<(ChangeSet, Decision), CurationError> {
        let set = self.get(id)?;
        if comment.len() > 10_000 {
            return Err(CurationError::Invalid("a comment has at most 10,000 bytes".into()));
        }
        if set.status != needed {
            let needed = if needed == Status::Proposed { "proposed" } else { "approved" };
            return Err(CurationError::State { id, status: set.status, action, needed });
        }
        Ok((set, Decision { by: by.to_owned(), at: now(), comment: comment.trim().to_owned() }))
    }

    /// Applies a proposed change set, if the entities it touches are as they were.
    pub fn approve(
        &self,
        id: u64,
        reviewer: &str,
        comment: &str,
    ) -> std::result::Result<ChangeSet, CurationError> {
        let _serial = serial();
        let (mut set, decision) = self.decide(id, reviewer, comment, Status::Proposed, "approval")?;
        if fingerprint(self.store, &set.touched)? != set.base {
            return Err(CurationError::Conflict(id));
        }
        let (remove, add) = (parse_lines(&set.diff.removed)?, parse_lines(&set.diff.added)?);
        set.status = Status::Approved;
        set.review = Some(decision.clone());
        // The fingerprint after: computed on a copy of the diff's effect.
        set.applied = Some(self.fingerprint_after(&set.touched, &remove, &add)?);
        self.save(&set, Some(("approval", &decision)), &remove, &add)?;
        Ok(set)
    }

    /// Declines a proposed change set; nothing changes in the ontology.
    pub fn reject(
        &self,
        id: u64,
        reviewer: &str,
        comment: &str,
    ) -> std::result::Result<ChangeSet, CurationError> {
        let _serial = serial();
        let (mut set, decision) = self.decide(id, reviewer, comment, Status::Proposed, "rejection")?;
        set.status = Status::Rejected;
        set.review = Some(decision.clone());
        self.save(&set, Some(("rejection", &decision)), &[], &[])?;
        Ok(set)
    }

    /// Undoes an approved change set, if the entities it touched are as it left them.
    pub fn revert(&self, id: u64, by: &str, comment: &str) -> std::result::Result<ChangeSet, CurationError> {
        let _serial = serial();
        let (mut set, decision) = self.decide(id, by, comment, Status::Approved, "revert")?;
        if Some(fingerprint(self.store, &set.touched)?) != set.applied {
            return Err(CurationError::Conflict(id));
        }
        let (added, removed) = (parse_lines(&set.diff.removed)?, parse_lines(&set.diff.added)?);
        set.status = Status::Reverted;
        set.revert = Some(decision.clone());
        self.save(&set, Some(("revert", &decision)), &removed, &added)?;
        Ok(set)
    }

    /// The fingerprint the statements of `subjects` will have once `remove` and `add` apply.
    fn fingerprint_after(&self, subjects: &[String], remove: &[Quad], add: &[Quad]) -> Result<String> {
        let mut lines = statements(self.store, subjects)?;
        for quad in remove {
            lines.remove(&quad_line(quad));
        }
        for quad in add {
            let in_scope = [vocab::GRAPH_ONTOLOGY, vocab::GRAPH_SHAPES, vocab::GRAPH_LINKS]
                .iter()
                .any(|g| quad.graph_name.to_string() == format!("<{g}>"))
                && subjects.contains(&subject_text(&quad.subject));
            if in_scope {
                lines.insert(quad_line(quad));
            }
        }
        Ok(digest(&lines))
    }
}
