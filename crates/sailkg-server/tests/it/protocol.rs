//! Runs the HTTP exchanges of the SPARQL Protocol and Graph Store Protocol manifests
//! (`ht:Request` / `ht:Response` descriptions) against the server.

use crate::manifest::*;
use crate::support::{TOKEN, TestServer, send};
use oxigraph::model::*;
use oxigraph::sparql::results::QueryResultsFormat;

const HTS: &str = "http://www.w3.org/2011/http-statusCodes#";

pub fn run(
    server: &TestServer,
    manifest: &Manifest,
    test: &NamedOrBlankNode,
    action: &Term,
) -> Result<(), String> {
    // Named graphs the test expects to exist beforehand.
    for entry in manifest.objects(test.clone(), &iri(UT, "graphData")) {
        let entry = as_subject(&entry).ok_or("bad graphData")?;
        let Some(Term::NamedNode(file)) = manifest.object(entry.clone(), &iri(UT, "graph")) else {
            return Err("no ut:graph".into());
        };
        let name = manifest
            .string(entry, &NamedNode::new_unchecked(RDFS_LABEL))
            .unwrap_or_else(|| file.as_str().to_owned());
        let graph = NamedNode::new(name).map_err(|e| e.to_string())?;
        for t in &read_graph(file.as_str()) {
            server.store.oxigraph().insert(t.in_graph(graph.as_ref())).map_err(|e| e.to_string())?;
        }
    }
    let action = as_subject(action).ok_or("bad action")?;
    let requests = manifest.list(manifest.object(action, &iri(HT, "requests")));
    if requests.is_empty() {
        return Err("no ht:requests".into());
    }
    let mut location: Option<(String, String)> = None;
    for (index, request) in requests.iter().enumerate() {
        let request = as_subject(request).ok_or("bad request")?;
        let method = manifest.string(request.clone(), &iri(HT, "methodName")).ok_or("no method")?;
        let mut path = manifest.string(request.clone(), &iri(HT, "absolutePath")).ok_or("no path")?;
        if let Some((template, value)) = &location {
            // As a query parameter the location is a graph IRI; as a path it is this server's.
            let as_parameter = format!("={template}");
            if path.contains(&as_parameter) {
                path = path.replace(&as_parameter, &format!("={}", crate::conformance::encode(value)));
            } else {
                let local = value.strip_prefix(&server.url).unwrap_or(value).replacen("/store", "/gsp", 1);
                path = path.replace(template, &local);
            }
        }
        let path = rewrite_path(&path);
        let mut headers: Vec<(String, String)> = Vec::new();
        for header in manifest.list(manifest.object(request.clone(), &iri(HT, "headers"))) {
            let header = as_subject(&header).ok_or("bad header")?;
            let name = manifest.string(header.clone(), &iri(HT, "fieldName")).ok_or("no header name")?;
            let value = manifest.string(header, &iri(HT, "fieldValue")).ok_or("no header value")?;
            headers.push((name, value));
        }
        if matches!(method.as_str(), "PUT" | "POST" | "DELETE") {
            headers.push(("Authorization".into(), format!("Bearer {TOKEN}")));
        }
        let body = match manifest.object(request.clone(), &iri(HT, "body")) {
            Some(body) => {
                let body = as_subject(&body).ok_or("bad body")?;
                let chars = manifest.string(body.clone(), &iri(CNT, "chars")).unwrap_or_default();
                let chars = match &location {
                    Some((template, value)) => chars.replace(template, value),
                    None => chars,
                };
                let encoding = manifest.string(body, &iri(CNT, "characterEncoding")).unwrap_or_default();
                Some(if encoding.eq_ignore_ascii_case("UTF-16") {
                    chars.encode_utf16().flat_map(u16::to_le_bytes).collect()
                } else {
                    chars.into_bytes()
                })
            }
            None if matches!(method.as_str(), "PUT" | "POST") => Some(Vec::new()),
            None => None,
        };
        let header_refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = send(&server.agent, &method, &server.url(&path), &header_refs, body);
        let context = format!("request {} ({method} {path})", index + 1);
        let Some(response) = manifest.object(request, &iri(HT, "resp")) else { continue };
        let response = as_subject(&response).ok_or("bad response")?;
        check_status(manifest, &response, reply.status)
            .map_err(|e| format!("{context}: {e}; body: {}", reply.text().trim()))?;
        if let Some(template) = manifest.string(response.clone(), &iri(MF, "expectedLocation")) {
            let value = reply
                .headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or(format!("{context}: no Location header"))?;
            location = Some((template, value.to_owned()));
        }
        if let Some(expected) = manifest.object(response.clone(), &iri(MF, "expectedBoolean")) {
            let expected = matches!(&expected, Term::Literal(l) if l.value() == "true");
            let media = reply.content_type.split(';').next().unwrap_or("").trim().to_owned();
            let format = QueryResultsFormat::from_media_type(&media)
                .ok_or(format!("{context}: content type {media} is not a results format"))?;
            match parse_results(&reply.body, format)? {
                Results::Boolean(b) if b == expected => {}
                other => return Err(format!("{context}: expected {expected}, got {other:?}")),
            }
        }
        if let Some(format) = manifest.string(response.clone(), &iri(MF, "expectedFormat")) {
            let media = reply.content_type.split(';').next().unwrap_or("").trim().to_owned();
            let ok = match format.as_str() {
                "tabular" | "boolean" => QueryResultsFormat::from_media_type(&media).is_some(),
                "RDF" => oxigraph::io::RdfFormat::from_media_type(&media).is_some(),
                _ => true,
            };
            if !ok {
                return Err(format!("{context}: content type {media} is not {format}"));
            }
        }
        let mut expected_type = None;
        for header in manifest.list(manifest.object(response.clone(), &iri(HT, "headers"))) {
            let header = as_subject(&header).ok_or("bad header")?;
            let name = manifest.string(header.clone(), &iri(HT, "fieldName")).unwrap_or_default();
            let value = manifest.string(header, &iri(HT, "fieldValue")).unwrap_or_default();
            if name.eq_ignore_ascii_case("content-type") {
                let media = |v: &str| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                if media(&value) != media(&reply.content_type) {
                    return Err(format!("{context}: content type {} instead of {value}", reply.content_type));
                }
                expected_type = Some(value);
            }
        }
        if let Some(body) = manifest.object(response, &iri(HT, "body")) {
            let body = as_subject(&body).ok_or("bad body")?;
            let chars = manifest.string(body, &iri(CNT, "chars")).unwrap_or_default();
            let media = expected_type.unwrap_or_else(|| reply.content_type.clone());
            let media = media.split(';').next().unwrap_or("").trim().to_owned();
            let format = oxigraph::io::RdfFormat::from_media_type(&media)
                .ok_or(format!("{context}: cannot parse {media}"))?;
            let expected = parse_graph(chars.as_bytes(), format, None)?;
            let actual = parse_graph(&reply.body, format, None)?;
            if !isomorphic(&expected, &actual) {
                return Err(format!("{context}: graph differs\nexpected:\n{expected}\nactual:\n{actual}"));
            }
        }
    }
    Ok(())
}

/// `/gsp` in the manifests is the Graph Store endpoint, `/store` here.
fn rewrite_path(path: &str) -> String {
    match path.strip_prefix("/gsp") {
        Some(rest) => format!("/store{rest}"),
        None => path.to_owned(),
    }
}

fn check_status(manifest: &Manifest, response: &NamedOrBlankNode, status: u16) -> Result<(), String> {
    let expected = manifest.objects(response.clone(), &iri(MF, "expectedStatus"));
    if expected.is_empty() {
        return Ok(());
    }
    for e in &expected {
        let Term::NamedNode(n) = e else { continue };
        let name = n.as_str().strip_prefix(HTS).unwrap_or(n.as_str());
        let ok = match name {
            "OK" => status == 200,
            "Created" => status == 201,
            "NoContent" => status == 204,
            "NotFound" => status == 404,
            "BadRequest" => status == 400,
            "StatusCode2xx" => (200..300).contains(&status),
            "StatusCode3xx" => (300..400).contains(&status),
            "StatusCode4xx" => (400..500).contains(&status),
            "StatusCode5xx" => (500..600).contains(&status),
            _ => false,
        };
        if ok {
            return Ok(());
        }
    }
    Err(format!("status {status}, expected one of {expected:?}"))
}
