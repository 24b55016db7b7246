//! The guards a document passes before async-graphql sees it.
//!
//! async-graphql's parser recurses once per nested list, object or
//! selection, and some of its validation rules walk every fragment spread
//! again wherever it is spread; so a few kilobytes of `[[[[...` overflow the
//! stack (which aborts the process), and a web of fragments that each
//! spread the next twice takes exponential time (CPU that no timeout can
//! interrupt).
//! So every document is first
//!
//! 1. scanned as text, in one pass, for the nesting of `{`, `[` and `(`
//!    ([`check_nesting`]; variables get the same bound, [`check_variables`]);
//! 2. then, once parsed, walked with every fragment expanded, each fragment
//!    counted once and remembered ([`Expansion`]), which bounds the fields
//!    it expands to, the nesting through fragments, and the root fields of a
//!    mutation (each one a transaction, and aliases make a thousand of them
//!    one small document).
//!
//! Each refusal carries its own `extensions.code` (`QUERY_TOO_COMPLEX`, or
//! `BAD_REQUEST` for a fragment that spreads itself). The depth and
//! complexity of the operation that runs are measured next, with the
//! request's variables ([`super::complexity`]).

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ServerError, Variables};

use super::errors::{coded_error as refusal, codes};
use crate::config::Limits;

fn too_complex(message: String) -> ServerError {
    refusal(codes::QUERY_TOO_COMPLEX, message)
}

/// Refuses a document whose text nests `{`, `[` or `(` deeper than
/// `max`, outside strings and comments. Linear in the text, no recursion.
pub fn check_nesting(text: &str, max: usize) -> Result<(), ServerError> {
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
pub fn check_variables(variables: &Variables, max: usize) -> Result<(), ServerError> {
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

/// What a parsed document expands to, every fragment spread replaced by
/// its fragment: checked against the limits by [`Expansion::check`].
pub struct Expansion<'d> {
    document: &'d ExecutableDocument,
    max_nesting: usize,
    max_directives: usize,
    /// Per fragment: the fields it expands to and how deep it nests, or
    /// `None` while it is being expanded (a spread of it then is a cycle).
    fragments: HashMap<&'d str, Option<Shape>>,
    /// Per fragment: the fields at its top level (through fragments).
    top_fields: HashMap<&'d str, usize>,
}

/// The fields a selection set expands to and how deep it nests.
#[derive(Clone, Copy)]
struct Shape {
    fields: usize,
    height: usize,
}

/// How an operation counts against the limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Whether the operation is a mutation.
    pub mutation: bool,
    /// Its root fields (through fragments): each mutation field is a
    /// transaction.
    pub root_fields: usize,
}

impl Cost {
    /// The rate-limit tokens the operation draws beyond the one every
    /// operation draws: one per mutation field past the first.
    pub fn extra_tokens(&self) -> usize {
        if self.mutation {
            self.root_fields.saturating_sub(1)
        } else {
            0
        }
    }
}

impl<'d> Expansion<'d> {
    /// Walks every operation of `document` against `limits`, and returns
    /// the cost of each named operation (`None` for an anonymous one).
    pub fn check(
        document: &'d ExecutableDocument,
        limits: &Limits,
    ) -> Result<Vec<(Option<&'d str>, Cost)>, ServerError> {
        let mut walk = Self {
            document,
            max_nesting: limits.max_nesting,
            max_directives: limits.max_directives,
            fragments: HashMap::new(),
            top_fields: HashMap::new(),
        };
        let mut fields = 0usize;
        let mut costs = Vec::new();
        for (name, operation) in document.operations.iter() {
            let set = &operation.node.selection_set.node;
            fields = fields.saturating_add(walk.shape(set, 1)?.fields);
            let cost = Cost {
                mutation: operation.node.ty == OperationType::Mutation,
                root_fields: walk.top(set, 1)?,
            };
            if cost.mutation && cost.root_fields > limits.max_mutations {
                return Err(too_complex(format!(
                    "the operation holds {} mutations, at most {} are allowed",
                    cost.root_fields, limits.max_mutations
                )));
            }
            // The spec's "single root field" rule, which async-graphql does
            // not check: a second field would be silently dropped.
            if operation.node.ty == OperationType::Subscription && cost.root_fields != 1 {
                return Err(refusal(
                    codes::BAD_REQUEST,
                    format!(
                        "a subscription selects exactly one root field, this one {}",
                        cost.root_fields
                    ),
                ));
            }
            costs.push((name.map(|n| n.as_str()), cost));
        }
        // Fragments no operation spreads are validated all the same.
        for (name, fragment) in &document.fragments {
            if !walk.fragments.contains_key(name.as_str()) {
                let shape = walk.shape(&fragment.node.selection_set.node, 1)?;
                fields = fields.saturating_add(shape.fields);
            }
        }
        if fields > limits.max_fields {
            return Err(too_complex(format!(
                "the document expands to {fields} fields, at most {} are allowed",
                limits.max_fields
            )));
        }
        Ok(costs)
    }

    /// The shape of `set`, found at nesting `depth`.
    fn shape(&mut self, set: &'d SelectionSet, depth: usize) -> Result<Shape, ServerError> {
        // Bounds this walk's own recursion too.
        if depth > self.max_nesting {
            return Err(self.too_deep());
        }
        let mut shape = Shape {
            fields: 0,
            height: 1,
        };
        for item in &set.items {
            let directives = match &item.node {
                Selection::Field(f) => f.node.directives.len(),
                Selection::InlineFragment(f) => f.node.directives.len(),
                Selection::FragmentSpread(f) => f.node.directives.len(),
            };
            if directives > self.max_directives {
                return Err(too_complex(format!(
                    "a selection holds {directives} directives, at most {} are allowed",
                    self.max_directives
                )));
            }
            let inner = match &item.node {
                Selection::Field(field) => {
                    let below = &field.node.selection_set.node;
                    let mut inner = if below.items.is_empty() {
                        Shape {
                            fields: 0,
                            height: 0,
                        }
                    } else {
                        self.shape(below, depth + 1)?
                    };
                    inner.fields = inner.fields.saturating_add(1);
                    inner
                }
                Selection::InlineFragment(fragment) => {
                    self.shape(&fragment.node.selection_set.node, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), depth + 1)?
                }
            };
            shape.fields = shape.fields.saturating_add(inner.fields);
            shape.height = shape.height.max(inner.height.saturating_add(1));
        }
        if depth.saturating_add(shape.height) > self.max_nesting.saturating_add(1) {
            return Err(self.too_deep());
        }
        Ok(shape)
    }

    /// The shape of fragment `name`, expanded once and remembered.
    fn fragment(&mut self, name: &'d str, depth: usize) -> Result<Shape, ServerError> {
        match self.fragments.get(name) {
            Some(Some(shape)) => {
                if depth.saturating_add(shape.height) > self.max_nesting.saturating_add(1) {
                    return Err(self.too_deep());
                }
                Ok(*shape)
            }
            Some(None) => Err(refusal(
                codes::BAD_REQUEST,
                format!("fragment {name} spreads itself"),
            )),
            None => {
                // An unknown fragment is validation's to report.
                let Some(fragment) = self.document.fragments.get(name) else {
                    return Ok(Shape {
                        fields: 0,
                        height: 0,
                    });
                };
                self.fragments.insert(name, None);
                let shape = self.shape(&fragment.node.selection_set.node, depth)?;
                self.fragments.insert(name, Some(shape));
                Ok(shape)
            }
        }
    }

    /// The fields at the top level of `set`, through fragments (the walk
    /// by [`Expansion::shape`] has already refused cycles and depth).
    fn top(&mut self, set: &'d SelectionSet, depth: usize) -> Result<usize, ServerError> {
        if depth > self.max_nesting {
            return Err(self.too_deep());
        }
        let mut fields = 0usize;
        for item in &set.items {
            let more = match &item.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(fragment) => {
                    self.top(&fragment.node.selection_set.node, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.top_fields.get(name) {
                        Some(known) => *known,
                        None => {
                            let Some(fragment) = self.document.fragments.get(name) else {
                                continue;
                            };
                            let known = self.top(&fragment.node.selection_set.node, depth + 1)?;
                            self.top_fields.insert(name, known);
                            known
                        }
                    }
                }
            };
            fields = fields.saturating_add(more);
        }
        Ok(fields)
    }

    fn too_deep(&self) -> ServerError {
        let max = self.max_nesting;
        too_complex(format!(
            "the document nests more than {max} levels deep, at most {max} are allowed"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn code(error: &ServerError) -> String {
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|c| c.to_string())
            .unwrap_or_default()
    }

    fn expand(text: &str) -> Result<Vec<(Option<String>, Cost)>, ServerError> {
        let document = parse_query(text).expect("parses");
        Expansion::check(&document, &Limits::default()).map(|costs| {
            costs
                .into_iter()
                .map(|(n, c)| (n.map(str::to_owned), c))
                .collect()
        })
    }

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
        let err = expand(&text).expect_err("refused");
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
                format!(
                    " c{i}: chargeBalance(input: {{amount: \"1\"}}) {{ userErrors {{ code }} }}"
                )
            })
            .collect();
        text += &format!(" fragment F9 on Mutation {{ {fields} }}");
        let err = expand(&text).expect_err("refused");
        assert!(err.message.contains("11 mutations"), "{}", err.message);
        let ok = expand("mutation A { a: chargeBalance { x } b: chargeBalance { x } } query B { viewer { id } }")
            .unwrap();
        let cost = |name: &str| {
            ok.iter()
                .find(|(n, _)| n.as_deref() == Some(name))
                .map(|(_, c)| *c)
        };
        let (a, b) = (cost("A"), cost("B"));
        assert_eq!(
            a,
            Some(Cost {
                mutation: true,
                root_fields: 2
            })
        );
        assert_eq!(
            b,
            Some(Cost {
                mutation: false,
                root_fields: 1
            })
        );
    }

    #[test]
    fn cycles_and_deep_fragment_chains_are_refused() {
        let err = expand("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
            .expect_err("refused");
        assert_eq!(code(&err), "\"BAD_REQUEST\"");
        let mut chain = String::from("{ ...F0 }");
        for level in 0..100 {
            chain += &format!(" fragment F{level} on Query {{ ...F{} }}", level + 1);
        }
        chain += " fragment F100 on Query { __typename }";
        let err = expand(&chain).expect_err("refused");
        assert!(
            err.message
                .contains("nests more than 32 levels deep, at most 32 are allowed"),
            "{}",
            err.message
        );
        // A fragment spread near the top passes, but not where it would
        // take the selection past the limit.
        let mut nested = String::from("{ ");
        for _ in 0..30 {
            nested += "a { ";
        }
        nested += "...G";
        nested += &" }".repeat(31);
        nested += " fragment G on T { b { c { d } } }";
        assert!(expand(&nested).is_err());
        assert!(expand("{ a { ...G } } fragment G on T { b { c { d } } }").is_ok());
    }

    #[test]
    fn a_subscription_selects_exactly_one_root_field() {
        assert!(expand("subscription { a { id } }").is_ok());
        for bad in [
            "subscription { a { id } b { id } }",
            "subscription { ...F } fragment F on Subscription { a { id } b { id } }",
            "subscription { __typename a { id } }",
        ] {
            let err = expand(bad).expect_err(bad);
            assert_eq!(code(&err), "\"BAD_REQUEST\"", "{bad}");
        }
    }
}
