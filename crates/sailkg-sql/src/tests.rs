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
    let ctx = session(&store, Duration::from_secs(10)).await.unwrap();
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
