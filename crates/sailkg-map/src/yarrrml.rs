//! YARRRML (YAML) translated into an RML graph, which then becomes a plan like any RML mapping.
//!
//! Supported: `prefixes`, `base`, named `sources`, `mappings` (`m`) with `sources`, subjects
//! (`s`/`subject`/`subjects`), `graphs` (`g`), and predicate-object lists (`po`) in the short
//! (`[p, o]`, `[p, o, datatype]`, `[p, o, lang~lang]`) and long (`p`/`o` with `value`,
//! `datatype`, `language`, `type`, `mapping` + `condition`) forms; `$(ref)` references, `~iri`,
//! `~lang`, `~csv`/`~json`/`~jsonpath`/`~xpath`/`~xml`/`~parquet` source suffixes, and `~table` for
//! a table of the catalogue by name (`[airports~table]`).

use crate::error::{Location, Result};
use crate::plan::RML;
use oxigraph::model::vocab::rdf;
use oxigraph::model::{BlankNode, Graph, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use std::collections::HashMap;
use yaml_rust2::Yaml;

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// Translates YARRRML text into an RML graph.
pub(crate) fn translate(text: &str, file: &str) -> Result<Graph> {
    let at = Location::file(file);
    let documents = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| {
        let marker = e.marker();
        at.error(format!(
            "not valid YAML at line {}, column {}: {}",
            marker.line(),
            marker.col() + 1,
            e.info()
        ))
    })?;
    let Some(Yaml::Hash(root)) = documents.into_iter().next() else {
        return Err(at.error("a YARRRML document is a mapping with a `mappings` key"));
    };
    let mut prefixes: HashMap<String, String> = [
        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
        ("xsd", "http://www.w3.org/2001/XMLSchema#"),
        ("owl", "http://www.w3.org/2002/07/owl#"),
        ("foaf", "http://xmlns.com/foaf/0.1/"),
        ("schema", "http://schema.org/"),
        ("dcterms", "http://purl.org/dc/terms/"),
        ("skos", "http://www.w3.org/2004/02/skos/core#"),
        ("ex", "http://example.com/"),
    ]
    .into_iter()
    .map(|(p, i)| (p.to_owned(), i.to_owned()))
    .collect();
    if let Some(Yaml::Hash(declared)) = get(&root, &["prefixes"]) {
        for (prefix, iri) in declared {
            match (prefix.as_str(), iri.as_str()) {
                (Some(prefix), Some(iri)) => {
                    prefixes.insert(prefix.to_owned(), iri.to_owned());
                }
                _ => return Err(at.error("prefixes map names to IRIs")),
            }
        }
    }
    let mut t = Translator { graph: Graph::new(), prefixes, named_sources: HashMap::new(), at: at.clone() };
    if let Some(Yaml::Hash(sources)) = get(&root, &["sources"]) {
        for (name, source) in sources {
            let name = name.as_str().ok_or_else(|| at.error("source names are strings"))?;
            t.named_sources.insert(name.to_owned(), source.clone());
        }
    }
    let base = get(&root, &["base"]).and_then(Yaml::as_str).map(str::to_owned);
    let Some(Yaml::Hash(mappings)) = get(&root, &["mappings", "m"]) else {
        return Err(at.error("no `mappings`"));
    };
    let names: Vec<String> = mappings.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    for (name, mapping) in mappings {
        let name = name.as_str().ok_or_else(|| at.error("mapping names are strings"))?;
        t.mapping(name, mapping, &names, base.as_deref())?;
    }
    Ok(t.graph)
}

fn get<'a>(hash: &'a yaml_rust2::yaml::Hash, keys: &[&str]) -> Option<&'a Yaml> {
    keys.iter().find_map(|k| hash.get(&Yaml::String((*k).to_owned())))
}

fn rml(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{RML}{local}"))
}

/// Items of a value that may be one item or a list.
fn items(value: &Yaml) -> Vec<&Yaml> {
    match value {
        Yaml::Array(items) => items.iter().collect(),
        Yaml::Null | Yaml::BadValue => Vec::new(),
        one => vec![one],
    }
}

/// A scalar as text (numbers and booleans too).
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Translator {
    graph: Graph,
    prefixes: HashMap<String, String>,
    named_sources: HashMap<String, Yaml>,
    at: Location,
}

/// A YARRRML value: a constant, a single reference, or a template.
enum Parsed {
    Constant(String),
    Reference(String),
    Template(String),
}

impl Translator {
    fn add(&mut self, s: impl Into<NamedOrBlankNode>, p: NamedNode, o: impl Into<Term>) {
        self.graph.insert(&Triple::new(s, p, o));
    }

    fn node(&mut self, s: impl Into<NamedOrBlankNode>, p: &str) -> BlankNode {
        let node = BlankNode::default();
        self.add(s, rml(p), node.clone());
        node
    }

    /// `$(ref)` pieces become a reference or a template; braces in text are escaped.
    fn parse(&self, text: &str) -> Result<Parsed> {
        if !text.contains("$(") {
            return Ok(Parsed::Constant(text.to_owned()));
        }
        let mut template = String::new();
        let mut rest = text;
        let mut references = 0;
        while let Some(start) = rest.find("$(") {
            for c in rest[..start].chars() {
                if matches!(c, '{' | '}' | '\\') {
                    template.push('\\');
                }
                template.push(c);
            }
            let after = &rest[start + 2..];
            // References may hold parentheses of their own (`$(a(b))`): match them.
            let mut depth = 1;
            let mut end = None;
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| self.at.error(format!("unclosed $( in {text:?}")))?;
            let reference = &after[..end];
            template.push('{');
            for c in reference.chars() {
                if matches!(c, '{' | '}' | '\\') {
                    template.push('\\');
                }
                template.push(c);
            }
            template.push('}');
            references += 1;
            rest = &after[end + 1..];
        }
        for c in rest.chars() {
            if matches!(c, '{' | '}' | '\\') {
                template.push('\\');
            }
            template.push(c);
        }
        if references == 1 && text.starts_with("$(") && text.ends_with(')') && text.matches("$(").count() == 1
        {
            return Ok(Parsed::Reference(text[2..text.len() - 1].to_owned()));
        }
        Ok(Parsed::Template(template))
    }

    /// Expands `prefix:local` (and `a`) to a full IRI; anything else is returned as is.
    fn expand(&self, text: &str) -> String {
        if text == "a" {
            return RDF_TYPE.to_owned();
        }
        if let Some((prefix, local)) = text.split_once(':')
            && !local.starts_with("//")
            && let Some(iri) = self.prefixes.get(prefix)
        {
            return format!("{iri}{local}");
        }
        text.to_owned()
    }

    fn iri(&self, text: &str) -> Result<NamedNode> {
        let expanded = self.expand(text);
        NamedNode::new(&expanded).map_err(|e| self.at.error(format!("invalid IRI {text:?}: {e}")))
    }

    /// Adds a term map's value to `map`: constant, reference or template.
    fn value(&mut self, map: &BlankNode, text: &str, iri: bool) -> Result<()> {
        let (text, iri) = match text.strip_suffix("~iri") {
            Some(t) => (t, true),
            None => (text, iri),
        };
        match self.parse(text)? {
            Parsed::Constant(c) if iri => {
                let node = self.iri(&c)?;
                self.add(map.clone(), rml("constant"), node);
            }
            Parsed::Constant(c) => self.add(map.clone(), rml("constant"), Literal::new_simple_literal(c)),
            Parsed::Reference(r) => {
                self.add(map.clone(), rml("reference"), Literal::new_simple_literal(r));
                if iri {
                    self.add(map.clone(), rml("termType"), rml("IRI"));
                }
            }
            Parsed::Template(t) => {
                let expanded = self.expand_template(&t);
                self.add(map.clone(), rml("template"), Literal::new_simple_literal(expanded));
                if iri {
                    self.add(map.clone(), rml("termType"), rml("IRI"));
                } else {
                    self.add(map.clone(), rml("termType"), rml("Literal"));
                }
            }
        }
        Ok(())
    }

    /// A template's leading `prefix:` expanded.
    fn expand_template(&self, template: &str) -> String {
        if let Some((prefix, _)) = template.split_once(':')
            && !prefix.contains('{')
            && let Some(iri) = self.prefixes.get(prefix)
        {
            return format!("{iri}{}", &template[prefix.len() + 1..]);
        }
        template.to_owned()
    }

    fn source(&mut self, map: &NamedNode, source: &Yaml) -> Result<()> {
        let source = match source.as_str().and_then(|name| self.named_sources.get(name)) {
            Some(named) => named.clone(),
            None => source.clone(),
        };
        let (access, formulation, iterator) = match &source {
            Yaml::Array(parts) => {
                let first = parts
                    .first()
                    .and_then(Yaml::as_str)
                    .ok_or_else(|| self.at.error("a source needs a file"))?;
                let (access, formulation) = match first.rsplit_once('~') {
                    Some((a, f)) => (a.to_owned(), Some(f.to_owned())),
                    None => (first.to_owned(), None),
                };
                (access, formulation, parts.get(1).and_then(Yaml::as_str).map(str::to_owned))
            }
            Yaml::Hash(hash) => {
                let access = get(hash, &["access"])
                    .and_then(Yaml::as_str)
                    .ok_or_else(|| self.at.error("a source needs `access`"))?;
                (
                    access.to_owned(),
                    get(hash, &["referenceFormulation"]).and_then(Yaml::as_str).map(str::to_owned),
                    get(hash, &["iterator"]).and_then(Yaml::as_str).map(str::to_owned),
                )
            }
            Yaml::String(s) => match s.rsplit_once('~') {
                Some((a, f)) => (a.to_owned(), Some(f.to_owned()), None),
                None => (s.clone(), None, None),
            },
            _ => return Err(self.at.error("a source is a list, a map or a name")),
        };
        let logical = self.node(map.clone(), "logicalSource");
        let path = self.node(logical.clone(), "source");
        if formulation.as_deref() == Some("table") {
            // A catalogued table by name: `[airports~table]`.
            self.add(
                path,
                NamedNode::new_unchecked("urn:sailkg:vocab#table"),
                Literal::new_simple_literal(&access),
            );
            return Ok(());
        }
        self.add(path.clone(), rml("root"), rml("MappingDirectory"));
        self.add(path, rml("path"), Literal::new_simple_literal(&access));
        let formulation = match formulation.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Some("CSV"),
            Some("json" | "jsonpath") => Some("JSONPath"),
            Some("xml" | "xpath") => Some("XPath"),
            Some("parquet") | None => None,
            Some(other) => return Err(self.at.error(format!("unknown source format ~{other}"))),
        };
        if let Some(f) = formulation {
            self.add(logical.clone(), rml("referenceFormulation"), rml(f));
        }
        if let Some(iterator) = iterator {
            self.add(logical, rml("iterator"), Literal::new_simple_literal(iterator));
        }
        Ok(())
    }

    fn mapping(&mut self, name: &str, mapping: &Yaml, names: &[String], base: Option<&str>) -> Result<()> {
        let at = self.at.map(name);
        let Yaml::Hash(mapping) = mapping else { return Err(at.error("a mapping is a map")) };
        let node = map_iri(name);
        self.add(node.clone(), rdf::TYPE.into_owned(), rml("TriplesMap"));
        if let Some(base) = base {
            self.add(
                node.clone(),
                rml("baseIRI"),
                NamedNode::new(base).map_err(|e| at.error(format!("invalid base: {e}")))?,
            );
        }
        let sources = get(mapping, &["sources", "source"]).ok_or_else(|| at.error("no `sources`"))?;
        // One logical source per triples map: a mapping with several sources is the same mapping
        // over each of them.
        let sources = match sources {
            Yaml::Array(list)
                if list.first().is_some_and(|f| matches!(f, Yaml::Array(_) | Yaml::Hash(_))) =>
            {
                list.clone()
            }
            other => vec![other.clone()],
        };
        if sources.len() != 1 {
            return Err(at.error("SAIL-KG reads one source per YARRRML mapping; split the mapping"));
        }
        self.source(&node, &sources[0])?;
        let subject = self.node(node.clone(), "subjectMap");
        match get(mapping, &["subjects", "subject", "s"]) {
            Some(Yaml::Null) | None => self.add(subject.clone(), rml("termType"), rml("BlankNode")),
            Some(value) => {
                let text = scalar(value).ok_or_else(|| at.error("a subject is a string"))?;
                self.value(&subject, &text, true)?;
            }
        }
        if let Some(graphs) = get(mapping, &["graphs", "graph", "g"]) {
            for g in items(graphs) {
                let text = scalar(g).ok_or_else(|| at.error("a graph is a string"))?;
                let graph = self.node(subject.clone(), "graphMap");
                self.value(&graph, &text, true)?;
            }
        }
        for (index, po) in get(mapping, &["predicateobjects", "predicateobject", "po"])
            .map(items)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let here = at.term(format!("predicate-object {}", index + 1));
            let pom = self.node(node.clone(), "predicateObjectMap");
            match po {
                Yaml::Array(parts) => {
                    let p = parts.first().and_then(scalar).ok_or_else(|| here.error("no predicate"))?;
                    let o = parts.get(1).and_then(scalar).ok_or_else(|| here.error("no object"))?;
                    let predicate = self.node(pom.clone(), "predicateMap");
                    self.value(&predicate, &p, true)?;
                    let object = self.node(pom.clone(), "objectMap");
                    let is_type = self.expand(&p) == RDF_TYPE;
                    self.value(&object, &o, is_type)?;
                    if let Some(extra) = parts.get(2).and_then(scalar) {
                        self.qualifier(&object, &extra)?;
                    }
                }
                Yaml::Hash(long) => {
                    for p in get(long, &["predicates", "predicate", "p"]).map(items).unwrap_or_default() {
                        let text = scalar(p).ok_or_else(|| here.error("a predicate is a string"))?;
                        let predicate = self.node(pom.clone(), "predicateMap");
                        self.value(&predicate, &text, true)?;
                    }
                    for o in get(long, &["objects", "object", "o"]).map(items).unwrap_or_default() {
                        self.object(&pom, o, names, &here)?;
                    }
                    if let Some(graphs) = get(long, &["graphs", "graph", "g"]) {
                        for g in items(graphs) {
                            let text = scalar(g).ok_or_else(|| here.error("a graph is a string"))?;
                            let graph = self.node(pom.clone(), "graphMap");
                            self.value(&graph, &text, true)?;
                        }
                    }
                }
                _ => return Err(here.error("a predicate-object is a list or a map")),
            }
        }
        Ok(())
    }

    /// The third item of a short predicate-object: a datatype, or a language (`en~lang`).
    fn qualifier(&mut self, object: &BlankNode, extra: &str) -> Result<()> {
        if let Some(language) = extra.strip_suffix("~lang") {
            match self.parse(language)? {
                Parsed::Constant(tag) => {
                    self.add(object.clone(), rml("language"), Literal::new_simple_literal(tag))
                }
                _ => {
                    let map = self.node(object.clone(), "languageMap");
                    self.value(&map, language, false)?;
                }
            }
        } else {
            let datatype = self.iri(extra)?;
            self.add(object.clone(), rml("datatype"), datatype);
        }
        Ok(())
    }

    fn object(&mut self, pom: &BlankNode, o: &Yaml, names: &[String], at: &Location) -> Result<()> {
        let object = self.node(pom.clone(), "objectMap");
        match o {
            Yaml::Hash(long) => {
                if let Some(parent) = get(long, &["mapping"]).and_then(Yaml::as_str) {
                    if !names.iter().any(|n| n == parent) {
                        return Err(at.error(format!("object mapping {parent:?} is not defined")));
                    }
                    self.add(object.clone(), rml("parentTriplesMap"), map_iri(parent));
                    for condition in get(long, &["condition", "conditions"]).map(items).unwrap_or_default() {
                        let Yaml::Hash(condition) = condition else {
                            return Err(at.error("a condition is a map"));
                        };
                        let function =
                            get(condition, &["function"]).and_then(Yaml::as_str).unwrap_or("equal");
                        if !function.ends_with("equal") {
                            return Err(at.error(format!(
                                "condition function {function:?} is not supported (equal is)"
                            )));
                        }
                        let mut child = None;
                        let mut parent_ref = None;
                        for parameter in get(condition, &["parameters"]).map(items).unwrap_or_default() {
                            let Yaml::Array(parts) = parameter else { continue };
                            let name = parts.first().and_then(Yaml::as_str).unwrap_or("");
                            let value = parts.get(1).and_then(scalar).unwrap_or_default();
                            let side = parts.get(2).and_then(Yaml::as_str).unwrap_or(if name == "str1" {
                                "s"
                            } else {
                                "o"
                            });
                            let reference = match self.parse(&value)? {
                                Parsed::Reference(r) => r,
                                _ => {
                                    return Err(at.error(format!(
                                        "join parameter {value:?} must be one $(reference)"
                                    )));
                                }
                            };
                            if side == "s" { child = Some(reference) } else { parent_ref = Some(reference) }
                        }
                        let (Some(child), Some(parent_ref)) = (child, parent_ref) else {
                            return Err(at.error("an equal condition needs str1 and str2"));
                        };
                        let join = self.node(object.clone(), "joinCondition");
                        self.add(join.clone(), rml("child"), Literal::new_simple_literal(child));
                        self.add(join, rml("parent"), Literal::new_simple_literal(parent_ref));
                    }
                    return Ok(());
                }
                let value = get(long, &["value"])
                    .and_then(scalar)
                    .ok_or_else(|| at.error("an object needs `value` or `mapping`"))?;
                let iri = get(long, &["type"]).and_then(Yaml::as_str) == Some("iri");
                self.value(&object, &value, iri)?;
                if let Some(datatype) = get(long, &["datatype"]).and_then(scalar) {
                    let datatype = self.iri(&datatype)?;
                    self.add(object.clone(), rml("datatype"), datatype);
                }
                if let Some(language) = get(long, &["language"]).and_then(scalar) {
                    self.qualifier(&object, &format!("{language}~lang"))?;
                }
            }
            other => {
                let text = scalar(other).ok_or_else(|| at.error("an object is a string or a map"))?;
                self.value(&object, &text, false)?;
            }
        }
        Ok(())
    }
}

fn map_iri(name: &str) -> NamedNode {
    let mut encoded = String::new();
    crate::template::iri_safe(name, &mut encoded, true);
    NamedNode::new_unchecked(format!("urn:sailkg:mapping:{encoded}"))
}
