//! The checks that run before a document is parsed: how deep its text and
//! its variables nest. async-graphql's parser recurses once per nested
//! list, object or selection, so a few kilobytes of `[[[[...` would
//! overflow the stack (which aborts the process): the text is scanned
//! first, in one linear pass without recursion.

use async_graphql::{ServerError, Variables};

use super::too_complex;

/// Refuses a document whose text nests `{`, `[` or `(` deeper than
/// `max`, outside strings and comments. Linear in the text, no recursion.
pub(super) fn check_nesting(text: &str, max: usize) -> Result<(), ServerError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string ends at the next `"""` not escaped as `\"""`.
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return Err(too_complex(format!(
                        "the document nests more than {max} levels deep, at most {max} are allowed"
                    )));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Refuses variables that nest lists and objects deeper than `max`.
pub(super) fn check_variables(variables: &Variables, max: usize) -> Result<(), ServerError> {
    // Iterative, so that the check cannot itself run out of stack.
    let mut stack: Vec<(&async_graphql::Value, usize)> =
        variables.values().map(|value| (value, 1)).collect();
    while let Some((value, depth)) = stack.pop() {
        if depth > max {
            return Err(too_complex(format!(
                "the variables nest more than {max} levels deep, at most {max} are allowed"
            )));
        }
        match value {
            async_graphql::Value::List(items) => {
                stack.extend(items.iter().map(|item| (item, depth + 1)));
            }
            async_graphql::Value::Object(fields) => {
                stack.extend(fields.values().map(|field| (field, depth + 1)));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::gate::tests::code;

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        assert!(check_nesting("{ a { b(x: [[1]]) { c } } }", 5).is_ok());
        let err = check_nesting("{ a { b(x: [[1]]) { c } } }", 4).unwrap_err();
        assert_eq!(code(&err), "\"QUERY_TOO_COMPLEX\"");
        let quoted = format!("{{ a(x: \"{}\") }}", "[".repeat(1000));
        assert!(check_nesting(&quoted, 3).is_ok());
        let escaped = format!("{{ a(x: \"\\\"{}\") }}", "[".repeat(1000));
        assert!(check_nesting(&escaped, 3).is_ok());
        let block = format!("{{ a(x: \"\"\" \\\"\"\" {} \"\"\") }}", "{".repeat(1000));
        assert!(check_nesting(&block, 3).is_ok());
        let comment = format!("{{ a # {}\n }}", "(".repeat(1000));
        assert!(check_nesting(&comment, 3).is_ok());
        let deep = format!("{{ product(id: {}) {{ id }} }}", "[".repeat(1600));
        assert!(check_nesting(&deep, 32).is_err());
    }

    #[test]
    fn variables_nest_no_deeper_than_the_limit() {
        let mut value = serde_json::json!(1);
        for _ in 0..40 {
            value = serde_json::json!([value]);
        }
        let deep = Variables::from_json(serde_json::json!({ "v": value }));
        assert!(check_variables(&deep, 32).is_err());
        assert!(check_variables(&deep, 41).is_ok());
    }
}
