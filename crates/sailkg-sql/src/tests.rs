use super::*;

fn shared() -> std::path::PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

async fn setup() -> (tempfile::TempDir, Store, SessionContext) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), sailkg_core::LoadConfig::default()).unwrap();
    let options = sailkg_ingest::IngestOptions::default();
    sailkg_ingest::ingest(&store, &shared().join("data/demo/airports.csv"), &options).unwrap();
    let update = "INSERT DATA { GRAPH <urn:g> { <http://e/ORD> <http://e/iata> \"ORD\" . <http://e/ATL> <http://e/iata> \"ATL\" } }";
    let budget = store.budget(Duration::from_secs(10));
    store.update(&sailkg_store::UpdateRequest { update, ..Default::default() }, &budget).unwrap();
    let ctx = session(&store, Duration::from_secs(10)).unwrap();
    (dir, store, ctx)
}

async fn table(ctx: &SessionContext, sql: &str) -> String {
    to_table(&run(ctx, sql, Duration::from_secs(30), 1_000_000).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_catalogue_and_sparql() {
    let (_dir, _store, ctx) = setup().await;
    assert!(table(&ctx, "SELECT count(*) AS n FROM source.airports").await.contains("3376"));
    assert!(table(&ctx, "SELECT count(*) AS n FROM airports WHERE state = 'IL'").await.contains('|'));
    let meta = table(&ctx, "SELECT name, rows FROM meta.datasets").await;
    assert!(meta.contains("airports") && meta.contains("3376"), "{meta}");
    let columns = table(&ctx, "SELECT name FROM meta.columns WHERE source = 'airports' ORDER BY name").await;
    assert!(columns.contains("latitude"), "{columns}");
    let joined = table(
        &ctx,
        "SELECT a.name, g.s FROM sparql('SELECT ?s ?code WHERE { ?s <http://e/iata> ?code }') AS g \
         JOIN source.airports AS a ON a.iata = g.code ORDER BY a.iata",
    )
    .await;
    assert!(joined.contains("http://e/ATL") && joined.contains("http://e/ORD"), "{joined}");
    let json = to_json(
        &run(&ctx, "SELECT iata FROM airports ORDER BY iata LIMIT 2", Duration::from_secs(5), 10)
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(String::from_utf8(json).unwrap().starts_with("[{\"iata\":"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_bad_input_are_refused_with_located_errors() {
    let (_dir, _store, ctx) = setup().await;
    for write in [
        "CREATE TABLE t (a INT)",
        "INSERT INTO source.airports SELECT * FROM source.airports",
        "DROP TABLE source.airports",
    ] {
        let error = run(&ctx, write, Duration::from_secs(5), 10).await.unwrap_err().to_string();
        assert!(
            error.to_lowercase().contains("not supported") || error.contains("DDL") || error.contains("DML"),
            "{write}: {error}"
        );
    }
    let error = run(&ctx, "SELEC 1", Duration::from_secs(5), 10).await.unwrap_err().to_string();
    assert!(error.contains("SELEC"), "{error}");
    let error = run(&ctx, "SELECT * FROM sparql('SELECT ?s WHERE { ?s ?p }')", Duration::from_secs(5), 10)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("sparql()"), "{error}");
    let error = run(&ctx, "SELECT * FROM airports", Duration::from_secs(5), 10).await.unwrap_err();
    assert!(matches!(error, SqlError::TooManyRows(10)));
}

fn update(store: &Store, update: &str) {
    let budget = store.budget(Duration::from_secs(10));
    store.update(&sailkg_store::UpdateRequest { update, ..Default::default() }, &budget).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_views_push_filters_and_limits_into_sparql_and_follow_the_store() {
    use datafusion::logical_expr::TableProviderFilterPushDown::{Exact, Inexact, Unsupported};
    use datafusion::prelude::{col, lit};
    let (_dir, store, ctx) = setup().await;
    update(
        &store,
        "INSERT DATA { GRAPH <urn:g2> { <http://e/a> a <http://e/Airport> ; <http://e/iata> \"ATL\" ; <http://e/runways> 5 ; <http://e/size> 1.5 . \
         <http://e/b> a <http://e/Airport> ; <http://e/iata> \"ORD\" ; <http://e/runways> 8 ; <http://e/size> 2.5 } }",
    );
    let kg = kg::KgSchema::new(store.clone(), Duration::from_secs(10));
    let view = kg.view("airport").unwrap().unwrap();
    let filters = [
        col("runways").gt(lit(6_i64)),
        col("iata").eq(lit("ATL")),
        col("iata").like(lit("A%")),
        col("size").lt(lit(2.0)),
        col("runways").is_null(),
        col("iri").eq(lit("http://e/a")),
        (col("runways") + lit(1_i64)).gt(lit(6_i64)),
    ];
    let kinds = view.supports_filters_pushdown(&filters.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(kinds, [Exact, Exact, Exact, Inexact, Unsupported, Exact, Unsupported]);
    let query = view.query(&[0, 2], &filters[..1], Some(1));
    assert!(query.contains("FILTER(?f0 > 6)") && query.contains("LIMIT 1"), "{query}");
    assert!(query.contains("VALUES ?p { <http://e/runways> }"), "only the projected column: {query}");
    let rows = table(&ctx, "SELECT iata, runways FROM kg.airport WHERE runways > 6").await;
    assert!(rows.contains("ORD") && !rows.contains("ATL"), "{rows}");
    let rows = table(&ctx, "SELECT iata FROM kg.airport WHERE size < 2.0").await;
    assert!(rows.contains("ATL") && !rows.contains("ORD"), "{rows}");
    // A property added later is a column at once; a class added later is a view at once.
    update(
        &store,
        "INSERT DATA { GRAPH <urn:g2> { <http://e/a> <http://e/elevation> 300 . <http://e/r> a <http://e/Runway> } }",
    );
    let rows = table(&ctx, "SELECT elevation FROM kg.airport WHERE elevation IS NOT NULL").await;
    assert!(rows.contains("300"), "{rows}");
    assert!(table(&ctx, "SELECT count(*) AS n FROM kg.runway").await.contains('1'));
    // Deleted instances are gone.
    update(&store, "DELETE WHERE { GRAPH <urn:g2> { <http://e/b> ?p ?o } }");
    let rows = table(&ctx, "SELECT iata FROM kg.airport").await;
    assert!(!rows.contains("ORD"), "{rows}");
}
