//! The complexity measure against what execution really resolves: page
//! sizes given as literals, variables, defaults, `null` or not at all, on
//! lists nested in lists. Whatever the arguments, a document the measure
//! lets through never resolves more fields than the limit.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{Options, spawn_app_with};

/// The document: `first: null` beside `last: 100`, three deep.
const NULL_FIRST: &str = "{ viewer { orders(first:null,last:100) { nodes { user { \
    orders(first:null,last:100) { nodes { user { orders(first:null,last:100) { nodes { id } } } } } } } } } }";

#[tokio::test]
async fn a_null_first_is_measured_as_the_last_that_runs() {
    let app = spawn_app_with(Options::default()).await;
    let r = app.as_user("ann", NULL_FIRST, json!({})).await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("complexity is"), "{message}");
}

/// How a connection's page size is given.
#[derive(Debug, Clone)]
enum Size {
    Absent,
    Null,
    Literal(i64),
    /// `$name`, with the operation's default for it (if any) and the value
    /// the request sends (`None`: not sent; `Some(Null)`: sent as null).
    Variable(Option<i64>, Option<Value>),
}

/// Every way of giving a size, with `n` where a number goes.
fn every_size(n: i64) -> Vec<Size> {
    vec![
        Size::Absent,
        Size::Null,
        Size::Literal(n),
        Size::Variable(None, None),
        Size::Variable(None, Some(Value::Null)),
        Size::Variable(None, Some(json!(n))),
        Size::Variable(Some(n), None),
        Size::Variable(Some(n), Some(Value::Null)),
    ]
}

fn size() -> impl Strategy<Value = Size> {
    let n = prop::sample::select(vec![0_i64, 1, 5, 20, 60, 100, 101, -1]);
    let sent = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        n.clone().prop_map(|n| Some(json!(n))),
    ];
    prop_oneof![
        Just(Size::Absent),
        Just(Size::Null),
        n.clone().prop_map(Size::Literal),
        (prop::option::of(n), sent).prop_map(|(default, sent)| Size::Variable(default, sent)),
    ]
}

/// A document nesting `levels` connections, each `(first, last)`, with its
/// variables' definitions and values.
fn document(levels: &[(Size, Size)]) -> (String, Value) {
    let mut definitions = Vec::new();
    let mut variables = serde_json::Map::new();
    let mut argument = |name: &str, size: &Size, level: usize| -> Option<String> {
        match size {
            Size::Absent => None,
            Size::Null => Some(format!("{name}: null")),
            Size::Literal(n) => Some(format!("{name}: {n}")),
            Size::Variable(default, sent) => {
                let variable = format!("{name}{level}");
                definitions.push(match default {
                    Some(d) => format!("${variable}: Int = {d}"),
                    None => format!("${variable}: Int"),
                });
                if let Some(value) = sent {
                    variables.insert(variable.clone(), value.clone());
                }
                Some(format!("{name}: ${variable}"))
            }
        }
    };
    let mut inner = String::from("id");
    for (level, (first, last)) in levels.iter().enumerate().rev() {
        let arguments: Vec<String> = [
            argument("first", first, level),
            argument("last", last, level),
        ]
        .into_iter()
        .flatten()
        .collect();
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!("({})", arguments.join(", "))
        };
        inner = if level == levels.len() - 1 {
            format!("orders{arguments} {{ nodes {{ {inner} }} }}")
        } else {
            format!("orders{arguments} {{ nodes {{ id user {{ {inner} }} }} }}")
        };
    }
    let definitions = if definitions.is_empty() {
        String::new()
    } else {
        format!("({})", definitions.join(", "))
    };
    (
        format!("query{definitions} {{ viewer {{ {inner} }} }}"),
        Value::Object(variables),
    )
}

/// The fields a response resolved: every key of every object under `data`.
fn resolved(value: &Value) -> usize {
    match value {
        Value::Object(fields) => fields.len() + fields.values().map(resolved).sum::<usize>(),
        Value::Array(items) => items.iter().map(resolved).sum(),
        _ => 0,
    }
}

const LIMIT: usize = 1_000;

/// An app whose viewer ("ann") has 60 orders: more than the default page,
/// so that every page size shows in what runs.
fn app_with_orders(runtime: &tokio::runtime::Runtime) -> crate::helpers::TestApp {
    runtime.block_on(async {
        let app = spawn_app_with(Options {
            env: vec![("QUERY_MAX_COMPLEXITY", LIMIT.to_string())],
            ..Default::default()
        })
        .await;
        let product = app.create_product("Pin", 1, 1_000).await;
        for _ in 0..60 {
            let r = app
                .as_user(
                    "ann",
                    "mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { id } } }",
                    json!({ "i": { "items": [{ "productId": product, "quantity": 1 }] } }),
                )
                .await;
            assert!(r.data()["createOrder"]["order"]["id"].is_string());
        }
        app
    })
}

/// Runs `levels` as ann: `Ok(true)` when it ran within the limit,
/// `Ok(false)` when it was refused, and why it broke the rule else.
fn within_the_limit(
    runtime: &tokio::runtime::Runtime,
    app: &crate::helpers::TestApp,
    levels: &[(Size, Size)],
) -> Result<bool, String> {
    let (query, variables) = document(levels);
    let r = runtime.block_on(app.as_user("ann", &query, variables));
    if r.body["data"].is_object() {
        let fields = resolved(&r.body["data"]);
        if fields > LIMIT {
            return Err(format!(
                "{query} resolved {fields} fields, over the limit {LIMIT}"
            ));
        }
        return Ok(true);
    }
    let codes = r.error_codes();
    if codes
        .iter()
        .all(|c| c == "QUERY_TOO_COMPLEX" || c == "BAD_REQUEST")
    {
        Ok(false)
    } else {
        Err(format!("{query}: {}", r.body))
    }
}

#[test]
fn every_way_of_giving_a_page_size_is_measured_as_it_runs() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let app = app_with_orders(&runtime);
    let mut ran = 0;
    for first in every_size(60) {
        for last in every_size(60) {
            let level = (first.clone(), last.clone());
            for depth in 1..=2 {
                let levels = vec![level.clone(); depth];
                ran += usize::from(within_the_limit(&runtime, &app, &levels).unwrap());
            }
        }
    }
    assert!(ran > 20, "only {ran} documents ran");
}

#[test]
fn no_document_the_measure_lets_through_resolves_more_than_the_limit() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let app = app_with_orders(&runtime);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let levels = prop::collection::vec((size(), size()), 1..=3);
    let accepted = std::cell::Cell::new(0);
    let outcome = runner.run(&levels, |levels| {
        let ran = within_the_limit(&runtime, &app, &levels).map_err(TestCaseError::fail)?;
        accepted.set(accepted.get() + usize::from(ran));
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let accepted = accepted.get();
    assert!(accepted > 30, "only {accepted} documents ran");
}
