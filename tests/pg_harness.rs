//! Smoke tests of the PostgreSQL test helper (tests/common/pg.rs).

#[path = "common/files.rs"]
#[allow(dead_code)]
mod files;
#[path = "common/pg.rs"]
mod pg;

use sqlx::{Connection, PgConnection};

async fn table_count(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn fresh_databases_are_distinct_and_usable() {
    let first = pg::fresh_database().await;
    let second = pg::fresh_database().await;
    assert_ne!(first, second);

    let mut a = PgConnection::connect(&first).await.unwrap();
    let mut b = PgConnection::connect(&second).await.unwrap();
    assert_eq!(table_count(&mut a).await, 0, "{first} is not empty");
    assert_eq!(table_count(&mut b).await, 0, "{second} is not empty");

    sqlx::raw_sql("CREATE TABLE marker (id int PRIMARY KEY); INSERT INTO marker VALUES (7)")
        .execute(&mut a)
        .await
        .unwrap();
    let id: i32 = sqlx::query_scalar("SELECT id FROM marker")
        .fetch_one(&mut a)
        .await
        .unwrap();
    assert_eq!(id, 7);

    let absent: Option<String> = sqlx::query_scalar("SELECT to_regclass('marker')::text")
        .fetch_one(&mut b)
        .await
        .unwrap();
    assert_eq!(absent, None, "the table leaked into the other database");
    assert_eq!(table_count(&mut b).await, 0);

    let name_a: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut a)
        .await
        .unwrap();
    let name_b: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut b)
        .await
        .unwrap();
    assert_ne!(name_a, name_b);
}

#[tokio::test]
async fn concurrent_fresh_databases_all_work() {
    let urls = futures::future::join_all((0..8).map(|_| pg::fresh_database())).await;
    let mut unique = urls.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), urls.len(), "duplicate URLs: {urls:?}");
    for url in &urls {
        let mut conn = PgConnection::connect(url).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
}

#[tokio::test]
async fn private_cluster_goes_away_and_comes_back_with_its_data() {
    let cluster = pg::PrivateCluster::start().await;
    let url = cluster.fresh_database().await;
    assert!(url.contains(&format!(":{}/", cluster.port())), "{url}");

    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .unwrap();

    cluster.stop().await;
    let cut: Result<i32, _> = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await;
    assert!(cut.is_err(), "an open connection survived the stop");
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "a stopped cluster accepted a connection"
    );

    cluster.start_again().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let v: String = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "still here");
    assert_eq!(cluster.url("postgres"), pg_url_with_db(&url, "postgres"));
}

fn pg_url_with_db(url: &str, db: &str) -> String {
    let (server, _) = url.rsplit_once('/').unwrap();
    format!("{server}/{db}")
}
