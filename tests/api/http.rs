//! The HTTP surface and GraphQL limits: health, playground, metrics, body and
//! batch limits, depth and complexity, error codes, production mode.

use serde_json::{Value, json};

use crate::helpers::{Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.charge("alice", 5).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("db_pool_connections "), "{metrics}");
}

#[tokio::test]
async fn the_playground_is_served_in_development_only() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("graphiql") && html.contains("Authorization"),
        "{html}"
    );

    let prod = spawn_app_with(Options {
        env: vec![
            ("APP_ENV", "production".into()),
            ("JWT_SECRET", crate::helpers::PRODUCTION_SECRET.into()),
        ],
        ..Default::default()
    })
    .await;
    assert_eq!(prod.get("/").await.status(), 404);
}

#[tokio::test]
async fn production_turns_off_introspection_and_suggestions() {
    let env = vec![
        ("APP_ENV", "production".into()),
        ("JWT_SECRET", crate::helpers::PRODUCTION_SECRET.into()),
    ];
    let app = spawn_app_with(Options {
        env,
        ..Default::default()
    })
    .await;
    let r = app
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        r.body["data"]["__schema"].is_null(),
        "introspection answered: {}",
        r.body
    );
    let r = app.gql(None, "{ prodcts { totalCount } }", json!({})).await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    assert!(!r.body.to_string().contains("Did you mean"), "{}", r.body);

    let dev = spawn_app().await;
    let r = dev
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(r.data()["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn get_requests_run_queries() {
    let app = spawn_app().await;
    let r = app
        .get("/graphql?query=%7B%20products%20%7B%20totalCount%20%7D%20%7D")
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["products"]["totalCount"], 0);

    // Variables come as JSON text; bad JSON or no query is a 400.
    let token = app.token("reader");
    let query = "query($n: Int) { products(first: $n) { nodes { id } } }";
    let r = app
        .get_graphql(&token, &[("query", query), ("variables", r#"{"n": 1000}"#)])
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
    let r = app
        .get_graphql(&token, &[("query", query), ("variables", "{nope")])
        .await;
    assert_eq!(r.status(), 400);
    let r = app.get_graphql(&token, &[("variables", "{}")]).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn responses_keep_the_order_of_the_selection_and_repeat_documents_alike() {
    // The GraphQL spec orders a response's entries as the selection set
    // does; here that is not alphabetical. Sent twice, so that the second
    // answer comes from the instance's parsed copy of the document.
    let app = spawn_app().await;
    let query = "{ products(first: 1) { totalCount pageInfo { hasNextPage } } }";
    let path = format!("/graphql?query={}", query.replace(' ', "%20"));
    let expected = r#"{"data":{"products":{"totalCount":0,"pageInfo":{"hasNextPage":false}}}}"#;
    for _ in 0..2 {
        let body = app.get(&path).await.text().await.unwrap();
        assert_eq!(body, expected);
    }
}

#[tokio::test]
async fn a_document_remembered_as_valid_still_has_its_variables_checked() {
    // Valid without variables (`$n` is optional), so the instance remembers
    // it as valid after the first run; with variables of the wrong type it
    // is refused exactly as when it was new. An invalid document is refused
    // however often it comes.
    let app = spawn_app().await;
    let query = "query($n: Int) { products(first: $n) { totalCount } }";
    let bad = [json!({"n": "ten"}), json!({"n": 1.5})];
    let mut when_new = Vec::new();
    for variables in &bad {
        let r = app.gql(None, query, variables.clone()).await;
        let codes = r.error_codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "BAD_REQUEST"),
            "{}",
            r.body
        );
        assert!(r.body.get("data").is_none(), "{}", r.body);
        when_new.push(r.body);
    }
    for _ in 0..2 {
        let r = app.gql(None, query, json!({})).await;
        assert_eq!(r.data()["products"]["totalCount"], 0, "{}", r.body);
    }
    for (variables, when_new) in bad.into_iter().zip(when_new) {
        let r = app.gql(None, query, variables).await;
        assert_eq!(r.body, when_new);
    }
    for _ in 0..2 {
        let r = app.gql(None, "{ products { nope } }", json!({})).await;
        assert_eq!(r.error_codes(), ["BAD_REQUEST"], "{}", r.body);
    }
}

#[tokio::test]
async fn get_requests_never_run_mutations() {
    let app = spawn_app().await;
    let admin = app.admin_token("admin");
    let mutation = "mutation { createProduct(input: {name: \"x\", price: \"1\", stock: 1}) { userErrors { code } } }";
    let r = app.get_graphql(&admin, &[("query", mutation)]).await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    // The same when the mutation is one of several named operations.
    let document = format!(
        "query Q {{ products {{ totalCount }} }} {}",
        mutation.replacen("mutation", "mutation M", 1)
    );
    let r = app
        .get_graphql(
            &admin,
            &[("query", document.as_str()), ("operationName", "M")],
        )
        .await;
    assert_eq!(r.status(), 405, "{:?}", r.text().await);
    let r = app
        .get_graphql(
            &admin,
            &[("query", document.as_str()), ("operationName", "Q")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was created");
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413() {
    let app = spawn_app().await;
    let padding = " ".repeat(70 * 1024);
    let r = app
        .post_json(
            None,
            &json!({ "query": format!("{{ products {{ totalCount }} }}{padding}") }),
        )
        .await;
    assert_eq!(r.status, 413);
    let r = app
        .post_json(None, &json!({ "query": "{ products { totalCount } }" }))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn batches_hold_at_most_ten_operations() {
    let app = spawn_app().await;
    let op = json!({ "query": "{ products { totalCount } }" });
    let ten = Value::Array(vec![op.clone(); 10]);
    let r = app.post_json(None, &ten).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(10), "{}", r.body);
    // Refused as a batch: one result per operation, each saying why, so a
    // batching client can match them to its operations.
    let eleven = Value::Array(vec![op; 11]);
    let r = app.post_json(None, &eleven).await;
    let results = r.body.as_array().expect("an array");
    assert_eq!(results.len(), 11, "{}", r.body);
    for result in results {
        assert_eq!(
            result["errors"][0]["extensions"]["code"],
            "QUERY_TOO_COMPLEX"
        );
        assert_eq!(
            result["errors"][0]["message"],
            "the batch holds 11 operations, at most 10 are allowed"
        );
        assert!(result.get("data").is_none(), "{result}");
    }
}

#[tokio::test]
async fn an_empty_batch_is_answered_as_a_batch() {
    let app = spawn_app().await;
    let r = app.post_json(None, &json!([])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.body.as_array().expect("an array");
    assert_eq!(results.len(), 1, "{}", r.body);
    assert_eq!(results[0]["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert_eq!(
        results[0]["errors"][0]["message"],
        "the batch holds no operation"
    );
}

#[tokio::test]
async fn deep_and_complex_queries_are_refused() {
    let app = spawn_app().await;
    let mut deep = String::from("name");
    for _ in 0..20 {
        deep = format!("ofType {{ {deep} }}");
    }
    let r = app
        .gql(
            None,
            &format!("{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);

    let aliases: String = (0..120)
        .map(|i| format!("a{i}: products(first: 100) {{ nodes {{ id name }} }} "))
        .collect();
    let r = app.gql(None, &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    // The message says the measured value and the limit, so a client author
    // knows how far over they are.
    let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
    let measured: u64 = message
        .strip_prefix("the query's complexity is ")
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no measured complexity in {message:?}"));
    assert!(measured > 20_000, "{message}");
    assert!(message.contains("at most 20000 is allowed"), "{message}");
}

#[tokio::test]
async fn malformed_operations_are_bad_requests() {
    let app = spawn_app().await;
    for query in [
        "{ products { ",
        "{ nope }",
        "query($x: Int!) { products(first: $x) { totalCount } }",
    ] {
        let r = app.gql(None, query, json!({"x": "not an int"})).await;
        let codes = r.error_codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "BAD_REQUEST"),
            "{query}: {}",
            r.body
        );
    }
    let r = app.post_json(None, &json!({"nothing": true})).await;
    assert_eq!(r.error_codes(), ["BAD_REQUEST"]);
}

#[tokio::test]
async fn an_unreachable_database_is_service_unavailable_and_not_ready() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.state.db().pool.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE");
    let r = app.charge("alice", 5).await;
    assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE");
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "alive all the same"
    );
}

#[tokio::test]
async fn internal_errors_say_nothing_of_the_sql() {
    let app = spawn_app().await;
    sqlx::query("ALTER TABLE products RENAME COLUMN stock TO units")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app
        .gql(None, "{ products { nodes { stock } } }", json!({}))
        .await;
    assert_eq!(r.error_code(), "INTERNAL_SERVER_ERROR");
    let text = r.body.to_string();
    assert!(
        !text.contains("stock") || !text.contains("column"),
        "{text}"
    );
    assert!(
        !text.to_lowercase().contains("select") && !text.contains("units"),
        "{text}"
    );
}
