//! `/api/ontology`: the ontology for curation — class, property and concept trees with their use in
//! the data (`GET /api/ontology`), one entity in full (`GET /api/ontology/entity?iri=`), and
//! search-as-you-type over labels (`GET /api/ontology/search?q=`). Read from the ontology and
//! shapes graphs with SPARQL on the blocking pool, under the query timeout.

use crate::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use oxigraph::model::Term;
use oxigraph::sparql::QueryResults;
use sailkg_core::vocab;
use sailkg_store::QueryRequest;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const PREFIXES: &str = "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> \
    PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX owl: <http://www.w3.org/2002/07/owl#> \
    PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX sh: <http://www.w3.org/ns/shacl#> \
    PREFIX dcterms: <http://purl.org/dc/terms/> ";

/// One solution: variable → (value, language tag or datatype).
type Row = BTreeMap<String, (String, Option<String>)>;

/// Runs SELECT queries on the blocking pool.
async fn select(state: &AppState, queries: Vec<String>) -> Result<Vec<Vec<Row>>, ApiError> {
    let store = state.store.clone();
    let timeout = state.config.query_timeout();
    web::block(move || {
        let mut answers = Vec::with_capacity(queries.len());
        for query in &queries {
            let budget = store.budget(timeout);
            let request = QueryRequest { query, ..Default::default() };
            let QueryResults::Solutions(solutions) = store.query(&request, &budget)? else {
                return Ok(Vec::new());
            };
            let mut rows = Vec::new();
            for solution in solutions {
                let solution = solution.map_err(sailkg_store::StoreError::Query)?;
                let mut row = Row::new();
                for (variable, term) in solution.iter() {
                    let value = match term {
                        Term::Literal(l) => (
                            l.value().to_owned(),
                            l.language()
                                .map(str::to_owned)
                                .or_else(|| Some(l.datatype().as_str().to_owned())),
                        ),
                        other => (sailkg_store::term_text(other), None),
                    };
                    row.insert(variable.as_str().to_owned(), value);
                }
                rows.push(row);
            }
            answers.push(rows);
        }
        Ok::<_, sailkg_store::StoreError>(answers)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(ApiError::from)
}

fn get<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
    row.get(name).map(|(v, _)| v.as_str())
}

/// Whether `iri` may be written between `<` and `>` in a query.
pub(crate) fn is_iri(iri: &str) -> bool {
    !iri.is_empty()
        && iri.len() <= 2000
        && iri.contains(':')
        && !iri.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"{}|^`\\".contains(c))
}

/// The best label: English, then untagged, then any; else the IRI's local name.
fn pick_label(labels: &Map<String, Value>, iri: &str) -> String {
    ["en", ""]
        .iter()
        .find_map(|lang| labels.get(*lang).and_then(Value::as_str))
        .or_else(|| labels.values().find_map(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| iri.rsplit(['#', '/', ':']).next().unwrap_or(iri).to_owned())
}

/// A class, property or concept of the trees.
struct Entry {
    kind: String,
    parents: Vec<String>,
    /// Language tag ("" for none) → label.
    labels: Map<String, Value>,
    deprecated: bool,
}

/// `GET /api/ontology`: classes, properties and SKOS concepts as flat lists with their parents,
/// labels per language, deprecation, and use in the data.
pub(crate) async fn trees(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ontology = vocab::GRAPH_ONTOLOGY;
    let mut answers = select(
        &state,
        vec![
            format!(
                "{PREFIXES} SELECT ?entity ?kind ?parent ?label ?deprecated WHERE {{ GRAPH <{ontology}> {{ \
                   VALUES (?type ?kind) {{ (owl:Class \"class\") (rdfs:Class \"class\") \
                     (owl:ObjectProperty \"property\") (owl:DatatypeProperty \"property\") \
                     (owl:AnnotationProperty \"property\") (rdf:Property \"property\") (skos:Concept \"concept\") }} \
                   ?entity a ?type FILTER(isIRI(?entity)) \
                   OPTIONAL {{ ?entity rdfs:subClassOf|rdfs:subPropertyOf|skos:broader ?parent FILTER(isIRI(?parent)) }} \
                   OPTIONAL {{ ?entity rdfs:label|skos:prefLabel ?label }} \
                   OPTIONAL {{ ?entity owl:deprecated ?deprecated }} }} }}"
            ),
            "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?class } } GROUP BY ?class".into(),
            "SELECT ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?p".into(),
        ],
    )
    .await?;
    let uses = answers.pop().unwrap_or_default();
    let instances = answers.pop().unwrap_or_default();
    let rows = answers.pop().unwrap_or_default();
    let counts = |rows: &[Row], key: &str| -> BTreeMap<String, u64> {
        rows.iter().filter_map(|r| Some((get(r, key)?.to_owned(), get(r, "n")?.parse().ok()?))).collect()
    };
    let (instances, uses) = (counts(&instances, "class"), counts(&uses, "p"));
    let mut entities: BTreeMap<String, Entry> = BTreeMap::new();
    for row in &rows {
        let (Some(iri), Some(kind)) = (get(row, "entity"), get(row, "kind")) else { continue };
        let entry = entities.entry(iri.to_owned()).or_insert_with(|| Entry {
            kind: kind.to_owned(),
            parents: Vec::new(),
            labels: Map::new(),
            deprecated: false,
        });
        if let Some(parent) = get(row, "parent")
            && parent != iri
            && !entry.parents.iter().any(|p| p == parent)
        {
            entry.parents.push(parent.to_owned());
        }
        if let Some((label, tag)) = row.get("label") {
            let lang = tag.as_deref().filter(|t| !t.contains(':')).unwrap_or("");
            entry.labels.entry(lang.to_owned()).or_insert_with(|| Value::String(label.clone()));
        }
        entry.deprecated |= get(row, "deprecated") == Some("true");
    }
    let mut out: BTreeMap<&str, Vec<Value>> =
        [("classes", Vec::new()), ("properties", Vec::new()), ("concepts", Vec::new())].into_iter().collect();
    for (iri, Entry { kind, parents, labels, deprecated }) in &entities {
        let (list, used) = match kind.as_str() {
            "class" => ("classes", instances.get(iri)),
            "property" => ("properties", uses.get(iri)),
            _ => ("concepts", None),
        };
        out.entry(list).or_default().push(json!({
            "iri": iri,
            "label": pick_label(labels, iri),
            "labels": labels,
            "parents": parents,
            "deprecated": deprecated,
            "uses": used.copied().unwrap_or(0),
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/ontology/entity?iri=`: labels and definitions per language, types, parents and
/// children, domain and range, deprecation and replacement, the SHACL constraints that target or
/// constrain it, and its use in the data and in generation runs.
pub(crate) async fn entity(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let params: BTreeMap<String, String> =
        form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let iri = params.get("iri").cloned().unwrap_or_default();
    if !is_iri(&iri) {
        return Err(ApiError::bad_request(format!("iri={iri:?} is not an IRI")));
    }
    let (ontology, shapes, catalog) = (vocab::GRAPH_ONTOLOGY, vocab::GRAPH_SHAPES, vocab::GRAPH_CATALOG);
    let mut answers = select(
        &state,
        vec![
            format!("SELECT ?p ?o WHERE {{ GRAPH <{ontology}> {{ <{iri}> ?p ?o }} }}"),
            format!(
                "{PREFIXES} SELECT ?child WHERE {{ GRAPH <{ontology}> {{ ?child rdfs:subClassOf|rdfs:subPropertyOf|skos:broader <{iri}> }} }}"
            ),
            format!(
                "{PREFIXES} SELECT ?shape ?property ?path ?constraint ?value WHERE {{ GRAPH <{shapes}> {{ \
                   {{ ?shape sh:targetClass <{iri}> . \
                      OPTIONAL {{ ?shape sh:property ?property . ?property sh:path ?path ; ?constraint ?value \
                        FILTER(STRSTARTS(STR(?constraint), STR(sh:)) && ?constraint != sh:path) }} }} \
                   UNION {{ ?shape sh:property ?property . ?property sh:path <{iri}> ; ?constraint ?value \
                        FILTER(STRSTARTS(STR(?constraint), STR(sh:)) && ?constraint != sh:path) BIND(<{iri}> AS ?path) }} }} }}"
            ),
            format!(
                "SELECT (COUNT(DISTINCT ?s) AS ?instances) (COUNT(DISTINCT ?g) AS ?graphs) WHERE {{ GRAPH ?g {{ ?s a <{iri}> }} }}"
            ),
            format!("SELECT (COUNT(*) AS ?triples) WHERE {{ GRAPH ?g {{ ?s <{iri}> ?o }} }}"),
            format!(
                "PREFIX sail: <urn:sailkg:vocab#> SELECT ?run ?source ?ended WHERE {{ GRAPH <{catalog}> {{ \
                   ?run a sail:GenerationRun ; sail:source ?source . OPTIONAL {{ ?run <http://www.w3.org/ns/prov#endedAtTime> ?ended }} \
                   FILTER(STRSTARTS(?source, \"kg.\")) }} }}"
            ),
        ],
    )
    .await?;
    let runs = answers.pop().unwrap_or_default();
    let triples = answers.pop().unwrap_or_default();
    let instances = answers.pop().unwrap_or_default();
    let constraints = answers.pop().unwrap_or_default();
    let children = answers.pop().unwrap_or_default();
    let facts = answers.pop().unwrap_or_default();
    if facts.is_empty() && children.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("the ontology says nothing of <{iri}>")));
    }
    let mut by_language: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut other: Vec<Value> = Vec::new();
    let (mut types, mut parents, mut domains, mut ranges, mut replaced_by) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut deprecated = false;
    for fact in &facts {
        let (Some(p), Some((o, tag))) = (get(fact, "p"), fact.get("o")) else { continue };
        let lang = tag.as_deref().filter(|t| !t.contains(':')).unwrap_or("");
        let field = match p {
            "http://www.w3.org/2000/01/rdf-schema#label"
            | "http://www.w3.org/2004/02/skos/core#prefLabel" => Some("labels"),
            "http://www.w3.org/2004/02/skos/core#altLabel" => Some("alt_labels"),
            "http://www.w3.org/2004/02/skos/core#definition"
            | "http://www.w3.org/2000/01/rdf-schema#comment" => Some("definitions"),
            _ => None,
        };
        match (field, p) {
            (Some(field), _) => {
                let entry = by_language.entry(field).or_default();
                match entry.get_mut(lang) {
                    Some(Value::Array(values)) => values.push(o.clone().into()),
                    _ => {
                        entry.insert(lang.to_owned(), json!([o]));
                    }
                }
            }
            (None, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type") => types.push(o.clone()),
            (
                None,
                "http://www.w3.org/2000/01/rdf-schema#subClassOf"
                | "http://www.w3.org/2000/01/rdf-schema#subPropertyOf"
                | "http://www.w3.org/2004/02/skos/core#broader",
            ) => parents.push(o.clone()),
            (None, "http://www.w3.org/2000/01/rdf-schema#domain") => domains.push(o.clone()),
            (None, "http://www.w3.org/2000/01/rdf-schema#range") => ranges.push(o.clone()),
            (None, "http://www.w3.org/2002/07/owl#deprecated") => deprecated |= o == "true",
            (None, "http://purl.org/dc/terms/isReplacedBy") => replaced_by.push(o.clone()),
            (None, _) => other.push(json!({"property": p, "value": o})),
        }
    }
    for list in [&mut types, &mut parents, &mut domains, &mut ranges, &mut replaced_by] {
        list.sort();
        list.dedup();
    }
    let mut shapes_out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in &constraints {
        let Some(shape) = get(row, "shape") else { continue };
        let list = shapes_out.entry(shape.to_owned()).or_default();
        if let (Some(path), Some(constraint), Some(value)) =
            (get(row, "path"), get(row, "constraint"), get(row, "value"))
        {
            list.push(json!({
                "path": path,
                "constraint": constraint.trim_start_matches("http://www.w3.org/ns/shacl#"),
                "value": value,
            }));
        }
    }
    let number = |rows: &[Row], key: &str| {
        rows.first().and_then(|r| get(r, key)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    // Generation runs from the class's view, named as the SQL layer names it.
    let view = crate::catalog::rows(
        &state,
        vec![format!("SELECT view FROM meta.classes WHERE class = '{}'", iri.replace('\'', "''"))],
    )
    .await?
    .pop()
    .and_then(|rows| rows.first().and_then(|r| r["view"].as_str().map(|v| format!("kg.{v}"))));
    let runs: Vec<Value> = runs
        .iter()
        .filter(|r| view.is_some() && get(r, "source") == view.as_deref())
        .map(|r| json!({"run": get(r, "run"), "ended": get(r, "ended")}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "iri": iri,
        "types": types,
        "labels": by_language.remove("labels").unwrap_or_default(),
        "alt_labels": by_language.remove("alt_labels").unwrap_or_default(),
        "definitions": by_language.remove("definitions").unwrap_or_default(),
        "parents": parents,
        "children": children.iter().filter_map(|r| get(r, "child")).collect::<Vec<_>>(),
        "domain": domains,
        "range": ranges,
        "deprecated": deprecated,
        "replaced_by": replaced_by,
        "other": other,
        "shapes": shapes_out.into_iter().map(|(shape, constraints)| json!({"shape": shape, "constraints": constraints})).collect::<Vec<_>>(),
        "usage": {
            "instances": number(&instances, "instances"),
            "graphs": number(&instances, "graphs"),
            "triples": number(&triples, "triples"),
            "view": view,
            "generation_runs": runs,
        },
    })))
}

/// `GET /api/ontology/search?q=`: classes, properties and concepts whose label or local name
/// contains the text (case-insensitive), labels first that start with it.
pub(crate) async fn search(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let params: BTreeMap<String, String> =
        form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let text = params.get("q").map(|q| q.trim().to_lowercase()).unwrap_or_default();
    if text.chars().count() > 200 {
        return Err(ApiError::bad_request("q is at most 200 characters"));
    }
    let literal: String = text.chars().filter(|c| !matches!(c, '"' | '\\') && !c.is_control()).collect();
    let ontology = vocab::GRAPH_ONTOLOGY;
    let mut answers = select(
        &state,
        vec![format!(
            "{PREFIXES} SELECT DISTINCT ?entity ?label ?type WHERE {{ GRAPH <{ontology}> {{ \
               VALUES ?type {{ owl:Class rdfs:Class owl:ObjectProperty owl:DatatypeProperty rdf:Property skos:Concept }} \
               ?entity a ?type FILTER(isIRI(?entity)) OPTIONAL {{ ?entity rdfs:label|skos:prefLabel|skos:altLabel ?label }} \
               FILTER(CONTAINS(LCASE(COALESCE(STR(?label), \"\")), \"{literal}\") || CONTAINS(LCASE(STR(?entity)), \"{literal}\")) }} }} LIMIT 200"
        )],
    )
    .await?;
    let rows = answers.pop().unwrap_or_default();
    let mut hits: BTreeMap<String, (String, String)> = BTreeMap::new();
    for row in &rows {
        let Some(iri) = get(row, "entity") else { continue };
        let label = get(row, "label")
            .map(str::to_owned)
            .unwrap_or_else(|| iri.rsplit(['#', '/', ':']).next().unwrap_or(iri).to_owned());
        let kind = match get(row, "type").unwrap_or_default().rsplit(['#', '/']).next().unwrap_or_default() {
            "Class" => "class",
            "Concept" => "concept",
            _ => "property",
        };
        let entry = hits.entry(iri.to_owned()).or_insert_with(|| (label.clone(), kind.to_owned()));
        if label.to_lowercase().starts_with(&text) && !entry.0.to_lowercase().starts_with(&text) {
            entry.0 = label;
        }
    }
    let mut list: Vec<(String, String, String)> =
        hits.into_iter().map(|(iri, (label, kind))| (iri, label, kind)).collect();
    list.sort_by_key(|(_, label, _)| {
        (!label.to_lowercase().starts_with(&text), label.len(), label.to_lowercase())
    });
    list.truncate(20);
    Ok(HttpResponse::Ok().json(json!({
        "result": list.into_iter().map(|(iri, label, kind)| json!({"iri": iri, "label": label, "kind": kind})).collect::<Vec<_>>()
    })))
}

// ---------------------------------------------------------------- change sets

use sailkg_core::Role;
use sailkg_store::curation::{Change, Curation, CurationError};

/// The token's role and name, if it has one of `allowed`.
fn authorize(req: &HttpRequest, state: &AppState, allowed: &[Role]) -> Result<(Role, String), ApiError> {
    if state.config.server.read_only {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "the server is read-only; changes are refused"));
    }
    let presented = crate::bearer(req)?;
    let token = state
        .config
        .token(presented)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"))?;
    if !allowed.contains(&token.role) {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the {} role may not do this; it needs {}", token.role.as_str(), names.join(" or ")),
        ));
    }
    Ok((token.role, token.name.clone()))
}

fn curation_error(error: CurationError) -> ApiError {
    let status = match &error {
        CurationError::Invalid(_) => StatusCode::BAD_REQUEST,
        CurationError::NotFound(_) => StatusCode::NOT_FOUND,
        CurationError::State { .. } | CurationError::Conflict(_) => StatusCode::CONFLICT,
        CurationError::Store(_) => {
            let CurationError::Store(e) = error else { unreachable!() };
            return ApiError::from(e);
        }
    };
    ApiError::new(status, error.to_string())
}

async fn curate<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Curation<'_>) -> Result<T, CurationError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    let timeout = state.config.sparql.timeout_secs;
    web::block(move || {
        let mut curation = Curation::new(&store);
        curation.timeout_secs = timeout;
        work(&curation)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(curation_error)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Proposal {
    /// Why.
    title: String,
    changes: Vec<Change>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Comment {
    #[serde(default)]
    comment: String,
}

/// `POST /api/ontology/changesets`: a curator (or reviewer, admin) proposes.
pub(crate) async fn propose(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Proposal>,
) -> Result<HttpResponse, ApiError> {
    let (_, author) = authorize(&req, &state, &[Role::Curator, Role::Reviewer, Role::Admin])?;
    let Proposal { title, changes } = body.into_inner();
    let set = curate(&state, move |c| c.propose(&author, &title, changes)).await?;
    Ok(HttpResponse::Created().json(set))
}

/// `GET /api/ontology/changesets`.
pub(crate) async fn changesets(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let sets = curate(&state, |c| c.list()).await?;
    Ok(HttpResponse::Ok().json(json!({"changesets": sets})))
}

/// `GET /api/ontology/changesets/{id}`.
pub(crate) async fn changeset(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: u64 =
        id.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no change set {id:?}")))?;
    Ok(HttpResponse::Ok().json(curate(&state, move |c| c.get(id)).await?))
}

/// `POST /api/ontology/changesets/{id}/approve|reject|revert`: a reviewer (or admin) decides;
/// nobody approves their own change set.
pub(crate) async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<Comment>>,
) -> Result<HttpResponse, ApiError> {
    let (id, action) = path.into_inner();
    let (_, reviewer) = authorize(&req, &state, &[Role::Reviewer, Role::Admin])?;
    let id: u64 =
        id.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no change set {id:?}")))?;
    let comment = body.map(|b| b.into_inner().comment).unwrap_or_default();
    let action = match action.as_str() {
        a @ ("approve" | "reject" | "revert") => a.to_owned(),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no action {other:?}: approve, reject or revert"),
            ));
        }
    };
    let proposal = curate(&state, move |c| c.get(id)).await?;
    if action == "approve" && proposal.author == reviewer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{reviewer} proposed change set {id}; another reviewer approves it"),
        ));
    }
    let set = curate(&state, move |c| match action.as_str() {
        "approve" => c.approve(id, &reviewer, &comment),
        "reject" => c.reject(id, &reviewer, &comment),
        _ => c.revert(id, &reviewer, &comment),
    })
    .await?;
    if let Some(search) = &state.search {
        search.changed(crate::search::Reindex::Graphs(vec![
            Some(vocab::GRAPH_ONTOLOGY.to_owned()),
            Some(vocab::GRAPH_SHAPES.to_owned()),
        ]));
    }
    Ok(HttpResponse::Ok().json(set))
}

/// `GET /api/ontology/export?format=turtle|rdfxml|jsonld|ntriples&graph=ontology|shapes`: the
/// ontology (or the shapes) as a document, to keep or to load elsewhere.
pub(crate) async fn export(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    use oxigraph::io::RdfFormat;
    let params: BTreeMap<String, String> =
        form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let (format, extension) = match params.get("format").map(String::as_str).unwrap_or("turtle") {
        "turtle" | "ttl" => (RdfFormat::Turtle, "ttl"),
        "rdfxml" | "xml" | "owl" => (RdfFormat::RdfXml, "rdf"),
        "jsonld" | "json-ld" => {
            (RdfFormat::JsonLd { profile: oxigraph::io::JsonLdProfileSet::empty() }, "jsonld")
        }
        "ntriples" | "nt" => (RdfFormat::NTriples, "nt"),
        other => {
            return Err(ApiError::bad_request(format!(
                "format={other:?}: turtle, rdfxml, jsonld or ntriples"
            )));
        }
    };
    let (graph, name) = match params.get("graph").map(String::as_str).unwrap_or("ontology") {
        "ontology" => (vocab::GRAPH_ONTOLOGY, "ontology"),
        "shapes" => (vocab::GRAPH_SHAPES, "shapes"),
        other => return Err(ApiError::bad_request(format!("graph={other:?}: ontology or shapes"))),
    };
    let store = state.store.clone();
    let body = web::block(move || {
        let mut out = Vec::new();
        let graph = oxigraph::model::NamedNode::new_unchecked(graph);
        store.dump_graph(graph.as_ref().into(), format, &mut out).map(|()| out)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}.{extension}\"")))
        .body(body))
}
