//! The gate against the real schema: what it refuses, what it measures.

use async_graphql::{Request, ServerError, Variables};

use super::{Admitted, Cost, Gate};
use crate::config::{Config, QueryLimits};

/// The `extensions.code` of `error`, as JSON text.
pub(crate) fn code(error: &ServerError) -> String {
    error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn gate() -> Gate {
    let config = Config::from_lookup(|_| None).expect("defaults");
    let persisted = super::Persisted::new(&config.persisted).expect("no manifest");
    // The schema served (the API's and the federation's fields), as
    // startup builds its gate.
    let served = crate::graphql::build_schema(None, false, &QueryLimits::default()).sdl();
    Gate::new(&served, &QueryLimits::default(), persisted).expect("every list has a bound")
}

fn admit(gate: &Gate, text: &str, variables: serde_json::Value) -> Result<Admitted, ServerError> {
    gate.admit(Request::new(text).variables(Variables::from_json(variables)))
}

fn cost(text: &str, variables: serde_json::Value) -> Cost {
    match admit(&gate(), text, variables) {
        Ok(admitted) => admitted.cost,
        Err(error) => panic!("{text}: {}", error.message),
    }
}

#[test]
fn lists_multiply_what_they_hold() {
    let nested =
        "{ viewer { orders(first: 20) { nodes { status items { quantity product { name } } } } } }";
    // items: 1 + 100 x (quantity 1 + product (1 + name 1)); a node:
    // status 1 + items; orders: 1 + 20 x (nodes 1 + ...); viewer 1 + it.
    let items = 1 + 100 * 3;
    let orders = 1 + 20 * (1 + 1 + items);
    let measured = cost(nested, serde_json::json!({}));
    assert_eq!((measured.depth, measured.complexity), (6, 1 + orders));
    let ids = serde_json::json!({ "ids": ["a", "b", "c"] });
    let nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    assert_eq!(cost(nodes, ids).complexity, 1 + 3);
    // A page size from a variable, its default, or the connection's.
    let products = "query($n: Int = 7) { products(first: $n) { nodes { id } } }";
    assert_eq!(
        cost(products, serde_json::json!({ "n": 50 })).complexity,
        1 + 50 * 2
    );
    assert_eq!(cost(products, serde_json::json!({})).complexity, 1 + 7 * 2);
    assert_eq!(
        cost("{ products { nodes { id } } }", serde_json::json!({})).complexity,
        1 + 20 * 2
    );
}

#[test]
fn a_page_size_is_the_one_execution_takes() {
    let page = |args: &str, variables: serde_json::Value| {
        let query =
            format!("query($n: Int, $m: Int = 7) {{ products{args} {{ nodes {{ id }} }} }}");
        (cost(&query, variables).complexity - 1) / 2
    };
    let none = serde_json::json!({});
    // A null first is no first: the last runs.
    assert_eq!(page("(first: null, last: 100)", none.clone()), 100);
    assert_eq!(
        page("(first: $n, last: 60)", serde_json::json!({ "n": null })),
        60
    );
    assert_eq!(page("(first: $n, last: 60)", none.clone()), 60);
    assert_eq!(page("(last: $m)", none.clone()), 7);
    assert_eq!(page("(last: $m)", serde_json::json!({ "m": null })), 20);
    assert_eq!(page("(first: 0)", none.clone()), 0);
    // Refused by execution before it reads: nothing runs.
    assert_eq!(page("(first: 5, last: 5)", none.clone()), 0);
    assert_eq!(page("(first: 101)", none), 0);
}

#[test]
fn fragments_and_type_conditions_are_followed() {
    let query = "{ node(id: \"x\") { ... on User { ...Orders } } }
                 fragment Orders on User { orders(last: 5) { nodes { id } } }";
    let measured = cost(query, serde_json::json!({}));
    assert_eq!((measured.depth, measured.complexity), (4, 1 + 1 + 5 * 2));
    assert_eq!((measured.fields, measured.top_fields), (4, 1));
}

#[test]
fn a_fragment_web_is_expanded_once_per_fragment() {
    // Each fragment spreads the next twice: 2^25 fields if expanded
    // naively, refused at once here.
    let mut text = String::from("query { ...L0 }");
    for level in 0..24 {
        text += &format!(
            " fragment L{level} on Query {{ ...L{n} ...L{n} }}",
            n = level + 1
        );
    }
    text += " fragment L24 on Query { __typename }";
    let err = admit(&gate(), &text, serde_json::json!({}))
        .err()
        .expect("refused");
    assert_eq!(code(&err), "\"QUERY_TOO_COMPLEX\"");
    assert!(err.message.contains("fields"), "{}", err.message);
}

#[test]
fn mutation_fields_are_counted_through_any_depth_of_fragments() {
    let mut text = String::from("mutation { ...F0 }");
    for level in 0..9 {
        text += &format!(" fragment F{level} on Mutation {{ ...F{} }}", level + 1);
    }
    let fields: String = (0..11)
        .map(|i| {
            format!(" c{i}: chargeBalance(input: {{amount: \"1\"}}) {{ userErrors {{ code }} }}")
        })
        .collect();
    text += &format!(" fragment F9 on Mutation {{ {fields} }}");
    let err = admit(&gate(), &text, serde_json::json!({}))
        .err()
        .expect("refused");
    assert!(err.message.contains("11 mutations"), "{}", err.message);
    let two = "mutation A { a: chargeBalance(input: {amount: \"1\"}) { userErrors { code } } \
               b: chargeBalance(input: {amount: \"1\"}) { userErrors { code } } } \
               query B { viewer { id } }";
    let gate = gate();
    let a = gate
        .admit(Request::new(two).operation_name("A"))
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert!(a.is_mutation() && a.extra_tokens() == 1);
    assert_eq!(a.label().as_ref(), "A");
    let b = gate
        .admit(Request::new(two).operation_name("B"))
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert!(!b.is_mutation() && b.extra_tokens() == 0);
    let err = gate.admit(Request::new(two)).err().expect("no name");
    assert_eq!(code(&err), "\"BAD_REQUEST\"");
    let err = gate
        .admit(Request::new(two).operation_name("C"))
        .err()
        .expect("unknown");
    assert_eq!(code(&err), "\"BAD_REQUEST\"");
}

#[test]
fn cycles_and_deep_fragment_chains_are_refused() {
    let gate = gate();
    let refused = |text: &str| admit(&gate, text, serde_json::json!({})).err().expect(text);
    let err = refused("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
    assert_eq!(code(&err), "\"BAD_REQUEST\"");
    let mut chain = String::from("{ ...F0 }");
    for level in 0..100 {
        chain += &format!(" fragment F{level} on Query {{ ...F{} }}", level + 1);
    }
    chain += " fragment F100 on Query { __typename }";
    let err = refused(&chain);
    assert!(
        err.message
            .contains("nests more than 32 levels deep, at most 32 are allowed"),
        "{}",
        err.message
    );
    // A fragment spread near the top passes, but not where it would take
    // the selection past the limit.
    let mut nested = String::from("{ ");
    for _ in 0..30 {
        nested += "viewer { ";
    }
    nested += "...G";
    nested += &" }".repeat(31);
    nested += " fragment G on User { a { b { c } } }";
    refused(&nested);
    // An unused fragment is walked too: validation reads it.
    let mut unused = String::from("{ viewer { id } } fragment U on Query { ...V0 }");
    for level in 0..60 {
        unused += &format!(" fragment V{level} on Query {{ ...V{} }}", level + 1);
    }
    unused += " fragment V60 on Query { __typename }";
    refused(&unused);
}

#[test]
fn a_subscription_selects_exactly_one_root_field() {
    let gate = gate();
    let one = "subscription { orderUpdated(orderId: \"x\") { id } }";
    assert!(admit(&gate, one, serde_json::json!({})).is_ok());
    for bad in [
        "subscription { a: orderUpdated(orderId: \"x\") { id } b: orderUpdated(orderId: \"y\") { id } }",
        "subscription { ...F } fragment F on Subscription { a: orderUpdated(orderId: \"x\") { id } b: couponUpdated(couponId: \"y\") { id } }",
        "subscription { __typename orderUpdated(orderId: \"x\") { id } }",
    ] {
        let err = admit(&gate, bad, serde_json::json!({})).err().expect(bad);
        assert_eq!(code(&err), "\"BAD_REQUEST\"", "{bad}");
    }
}

#[test]
fn a_document_is_parsed_once_and_failing_ones_are_not_kept() {
    let gate = gate();
    let text = "{ products(first: 1) { totalCount } }";
    admit(&gate, text, serde_json::json!({})).unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(gate.cache.len(), 1);
    admit(&gate, text, serde_json::json!({})).unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(gate.cache.len(), 1, "the same document, kept once");
    for broken in [
        "{ products(first: ".to_owned(),
        format!("{{ a(x: {}) }}", "[".repeat(2000)),
    ] {
        assert!(admit(&gate, &broken, serde_json::json!({})).is_err());
    }
    assert_eq!(gate.cache.len(), 1);
}

#[test]
fn the_label_is_the_name_or_the_root_fields() {
    let gate = gate();
    let label = |text: &str| {
        admit(&gate, text, serde_json::json!({}))
            .map(|a| a.label().to_string())
            .unwrap_or_else(|e| panic!("{}", e.message))
    };
    assert_eq!(
        label("query Catalog { products { totalCount } }"),
        "Catalog"
    );
    assert_eq!(
        label("{ viewer { id } products { totalCount } a: viewer { id } }"),
        "products,viewer"
    );
}

/// `n` representations of entity `typename`, as a gateway sends them.
fn representations(typename: &str, n: usize) -> serde_json::Value {
    let one = serde_json::json!({ "__typename": typename, "id": "UHJvZHVjdDox" });
    serde_json::Value::Array(vec![one; n])
}

#[test]
fn an_entities_call_counts_each_representation() {
    let query = "query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Product { name } ... on Order { items { product { name } } } } }";
    // Each representation counts what either fragment selects: name 1,
    // and items 1 + 100 x (product 1 + name 1).
    let per = 1 + (1 + 100 * 2);
    let measured = cost(
        query,
        serde_json::json!({ "r": representations("Order", 3) }),
    );
    assert_eq!(measured.complexity, 1 + 3 * per);
    // As a literal too.
    let literal = "{ _entities(representations: [{__typename: \"Product\", id: \"a\"}, \
                   {__typename: \"Product\", id: \"b\"}]) { ... on Product { name price } } }";
    assert_eq!(cost(literal, serde_json::json!({})).complexity, 1 + 2 * 2);
    // 100 representations (the most by default) of that selection: too complex.
    let err = admit(
        &gate(),
        query,
        serde_json::json!({ "r": representations("Order", 100) }),
    )
    .err()
    .expect("refused");
    assert_eq!(code(&err), "\"QUERY_TOO_COMPLEX\"");
    assert!(err.message.contains("complexity"), "{}", err.message);
    // And 101, whatever the selection: too many, before any measure.
    let small = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
    let err = admit(
        &gate(),
        small,
        serde_json::json!({ "r": representations("Product", 101) }),
    )
    .err()
    .expect("refused");
    assert_eq!(code(&err), "\"BAD_REQUEST\"");
    assert!(err.message.contains("at most 100"), "{}", err.message);
}

#[test]
fn the_federation_fields_are_held_in_fragments_and_with_federation_off() {
    let config = Config::from_lookup(|_| None).expect("defaults");
    let off = QueryLimits {
        federation: false,
        ..QueryLimits::default()
    };
    let served = crate::graphql::build_schema(None, false, &off).sdl();
    let persisted = super::Persisted::new(&config.persisted).expect("no manifest");
    let gate_off = Gate::new(&served, &off, persisted).expect("a gate");
    let on = gate();
    let bad = serde_json::json!({ "r": [{ "__typename": "Payment", "id": "x" }] });
    for text in [
        "{ _service { sdl } }",
        "{ ... on Query { _service { sdl } } }",
        "query { ...S } fragment S on Query { _service { sdl } }",
    ] {
        assert!(admit(&on, text, serde_json::json!({})).is_ok(), "{text}");
        let err = admit(&gate_off, text, serde_json::json!({}))
            .err()
            .expect(text);
        assert_eq!(code(&err), "\"BAD_REQUEST\"", "{text}");
    }
    let through_fragment = "query($r: [_Any!]!) { ...E }
        fragment E on Query { _entities(representations: $r) { __typename } }";
    let err = admit(&on, through_fragment, bad.clone())
        .err()
        .expect("refused");
    assert!(err.message.contains("representation 0"), "{}", err.message);
    // An operation that does not run is not held to its variables.
    let two = "query A { products(first: 1) { totalCount } }
        query B($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
    let request = Request::new(two).operation_name("A");
    assert!(
        on.admit(request.variables(Variables::from_json(bad)))
            .is_ok()
    );
}
