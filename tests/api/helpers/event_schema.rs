//! Checking an event against its JSON Schema (`docs/events/*.schema.json`).

use serde_json::Value;

/// What in `event` breaks the JSON Schema `schema`. A small validator for
/// the keywords the event schemas use (type, const, enum, required,
/// properties, additionalProperties, items, minItems, minimum, the money
/// pattern, local $ref), so that the schemas and the events cannot drift.
pub fn violations_of(schema: &str, event: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(schema).unwrap();
    let mut problems = Vec::new();
    check(&schema, &schema, event, "$", &mut problems);
    problems
}

fn check(root: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        return check(root, &root["$defs"][name], value, at, problems);
    }
    let type_ok = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        other => panic!("schema type {other} not handled"),
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| type_ok(t)) {
        problems.push(format!("{at}: not {types:?}"));
        return;
    }
    if let Some(expected) = schema.get("const")
        && value != expected
    {
        problems.push(format!("{at}: not {expected}"));
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        problems.push(format!("{at}: not one of {options:?}"));
    }
    if schema["pattern"] == "^[0-9]+$" {
        let digits = value.as_str().unwrap_or_default();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!("{at}: not digits"));
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_i64(), value.as_i64())
        && n < min
    {
        problems.push(format!("{at}: below {min}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                problems.push(format!("{at}.{name}: missing"));
            }
        }
        for (name, field) in object {
            match schema["properties"].get(name) {
                Some(sub) => check(root, sub, field, &format!("{at}.{name}"), problems),
                None if schema["additionalProperties"] == false => {
                    problems.push(format!("{at}.{name}: not in the schema"));
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema["minItems"].as_u64()
            && (items.len() as u64) < min
        {
            problems.push(format!("{at}: fewer than {min} items"));
        }
        for (i, item) in items.iter().enumerate() {
            check(
                root,
                &schema["items"],
                item,
                &format!("{at}[{i}]"),
                problems,
            );
        }
    }
}
