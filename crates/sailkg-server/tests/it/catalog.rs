//! The catalogue API and the OpenAPI document.

use crate::support::{TestServer, send};

#[test]
fn the_catalog_api_lists_datasets_and_shows_one_with_columns_and_a_sample() {
    let server = TestServer::start();
    let options = sailkg_ingest::IngestOptions::default();
    sailkg_ingest::ingest(&server.store, &crate::support::shared().join("data/demo/airports.csv"), &options)
        .unwrap();
    let get = |path: &str| {
        let reply = send(&server.agent, "GET", &server.url(path), &[], None);
        let json = serde_json::from_slice::<serde_json::Value>(&reply.body).unwrap_or_default();
        (reply.status, json)
    };
    let (status, catalog) = get("/api/catalog");
    assert_eq!(status, 200, "{catalog}");
    let airports = catalog["datasets"].as_array().unwrap().iter().find(|d| d["name"] == "airports").unwrap();
    assert_eq!(airports["rows"], 3376, "{airports}");
    assert!(catalog["runs"].is_array() && catalog["classes"].is_array(), "{catalog}");
    let (status, dataset) = get("/api/catalog/airports");
    assert_eq!(status, 200, "{dataset}");
    assert_eq!(dataset["dataset"]["name"], "airports");
    let columns: Vec<&str> =
        dataset["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(columns.contains(&"iata") && columns.contains(&"city"), "{columns:?}");
    assert_eq!(dataset["sample"].as_array().unwrap().len(), 20);
    for missing in ["/api/catalog/nothing", "/api/catalog/x'y", "/api/catalog/a%20b"] {
        assert_eq!(get(missing).0, 404, "{missing}");
    }
}

#[test]
fn every_path_of_the_openapi_document_is_served() {
    let server = TestServer::start();
    let reply = send(&server.agent, "GET", &server.url("/openapi.json"), &[], None);
    assert_eq!(reply.status, 200);
    let document: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    for (path, operations) in paths {
        let file = if path.starts_with("/assets") { "app.js" } else { "report.json" };
        let concrete = path
            .replace("{kind}", "entity")
            .replace("{dataset}", "nothing")
            .replace("{id}", "1")
            .replace("{run}", "nothing")
            .replace("{action}", "approve")
            .replace("{file}", file);
        for method in operations.as_object().unwrap().keys() {
            let reply = send(&server.agent, &method.to_uppercase(), &server.url(&concrete), &[], None);
            // A route that exists answers (maybe 400, 401 or 404 for a missing item), never
            // "no such route" (404 with an empty route) or 405.
            assert_ne!(reply.status, 405, "{method} {path}");
            if !path.contains('{') {
                assert_ne!(reply.status, 404, "{method} {path}: {}", reply.text());
            }
        }
    }
}

#[test]
fn the_page_and_its_assets_are_served_and_reports_stay_in_their_folder() {
    let server = TestServer::start();
    let page = send(&server.agent, "GET", &server.url("/"), &[], None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/assets/app.js"));
    for (file, kind) in [("app.js", "javascript"), ("app.css", "css")] {
        let reply = send(&server.agent, "GET", &server.url(&format!("/assets/{file}")), &[], None);
        assert_eq!(reply.status, 200, "{file}");
        assert!(reply.content_type.contains(kind), "{file}");
    }
    for path in [
        "/assets/index.html",
        "/assets/..%2Fapp.js",
        "/api/runs/..%2F..%2Fstore/report.json",
        "/api/runs/nothing/report.json",
        "/api/runs/nothing/secrets.txt",
    ] {
        let reply = send(&server.agent, "GET", &server.url(path), &[], None);
        assert_eq!(reply.status, 404, "{path}: {}", reply.text());
    }
}
