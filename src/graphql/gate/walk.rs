//! The one walk over a parsed document: every fragment spread expanded,
//! each fragment measured once and remembered (a web of fragments that
//! spread each other twice per level costs one pass, not 2^levels), and
//! everything the limits bound measured together ([`Cost`]).
//!
//! async-graphql's validation walks every fragment again wherever it is
//! spread, and recurses through spreads: so the walk refuses what would
//! make validation explode or overflow (too many fields once expanded, a
//! fragment that spreads itself, selections nested too deep through
//! fragments) before the document reaches it.

use foldhash::{HashMap, HashMapExt};

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, ServerError, Value, Variables};

use super::entities::Entities;
use super::lists::{Items, Lists, page_items};
use super::too_complex;
use crate::config::QueryLimits;
use crate::graphql::errors::{coded_error, codes};

/// What a selection set (or an operation) costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Its fields, every fragment spread expanded.
    pub fields: usize,
    /// How deep its selections nest, through fragment spreads and inline
    /// fragments (1 for a set of leaves): what parsing and validation
    /// recurse on.
    pub nesting: usize,
    /// How deep its fields nest, through fragments: the response's depth.
    pub depth: usize,
    /// Every field counts 1, times the items of each list around it (a
    /// connection's page, a `nodes` call's ids, an order's most lines): a
    /// bound on the response's size.
    pub complexity: usize,
    /// Its fields at the top level, through fragments: an operation's root
    /// fields (each mutation field is a transaction).
    pub top_fields: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.nesting = self.nesting.max(other.nesting);
        self.depth = self.depth.max(other.depth);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
    }
}

/// One walk over `document`, for a request with `variables`.
pub struct Walk<'d> {
    document: &'d ExecutableDocument,
    lists: &'d Lists,
    entities: &'d Entities,
    limits: &'d QueryLimits,
    /// Whether the operation walked is the one to run: only its
    /// federation fields are held (`entities`), with the request's
    /// variables.
    selected: bool,
    /// The values of the walked operation's variables, defaults applied.
    variables: &'d Variables,
    /// The operation whose variable defaults apply.
    operation: Option<&'d OperationDefinition>,
    /// Each fragment's cost, or `None` while it is being walked (a spread
    /// of it then is a cycle).
    fragments: HashMap<&'d str, Option<Cost>>,
}

impl<'d> Walk<'d> {
    pub fn new(
        document: &'d ExecutableDocument,
        lists: &'d Lists,
        entities: &'d Entities,
        limits: &'d QueryLimits,
        variables: &'d Variables,
    ) -> Self {
        Self {
            document,
            lists,
            entities,
            limits,
            selected: true,
            variables,
            operation: None,
            fragments: HashMap::new(),
        }
    }

    /// Walks the rest of the document, once `selected` was walked (at
    /// `cost`): every other operation and the fragments no operation
    /// spreads (validation reads them all). Refuses the document when it
    /// holds more fields than `QUERY_MAX_FIELDS` once expanded, or nests
    /// deeper than `QUERY_MAX_NESTING`. The fragments the selected
    /// operation spread are not walked again: their fields and nesting do
    /// not depend on variables.
    pub fn document(
        &mut self,
        selected: &'d OperationDefinition,
        cost: Cost,
    ) -> Result<(), ServerError> {
        let document = self.document;
        self.selected = false;
        let mut fields = cost.fields;
        for (_, operation) in document.operations.iter() {
            if !std::ptr::eq(&operation.node, selected) {
                fields = fields.saturating_add(self.operation(&operation.node)?.fields);
            }
        }
        for name in document.fragments.keys() {
            if !self.fragments.contains_key(name.as_str()) {
                fields = fields.saturating_add(self.fragment(name.as_str(), 1)?.fields);
            }
        }
        if fields > self.limits.max_fields {
            return Err(too_complex(format!(
                "the document expands to {fields} fields, at most {} are allowed",
                self.limits.max_fields
            )));
        }
        Ok(())
    }

    /// The cost of `operation`, its variables' defaults applied.
    pub fn operation(&mut self, operation: &'d OperationDefinition) -> Result<Cost, ServerError> {
        self.operation = Some(operation);
        let root = match operation.ty {
            async_graphql::parser::types::OperationType::Query => "Query",
            async_graphql::parser::types::OperationType::Mutation => "Mutation",
            async_graphql::parser::types::OperationType::Subscription => "Subscription",
        };
        self.set(Some(&Name::new(root)), &operation.selection_set.node, 1)
    }

    /// The cost of `set`, selected on `parent` (`None` when unknown, as for
    /// introspection's types: each field then counts 1), found at nesting
    /// `level`.
    fn set(
        &mut self,
        parent: Option<&Name>,
        set: &'d SelectionSet,
        level: usize,
    ) -> Result<Cost, ServerError> {
        // Bounds this walk's own recursion too.
        if level > self.limits.max_nesting {
            return Err(self.too_deep());
        }
        let mut total = Cost {
            nesting: 1,
            ..Cost::default()
        };
        for item in &set.items {
            let directives = match &item.node {
                Selection::Field(f) => f.node.directives.len(),
                Selection::InlineFragment(f) => f.node.directives.len(),
                Selection::FragmentSpread(f) => f.node.directives.len(),
            };
            if directives > self.limits.max_directives {
                return Err(too_complex(format!(
                    "a selection holds {directives} directives, at most {} are allowed",
                    self.limits.max_directives
                )));
            }
            let cost = match &item.node {
                Selection::Field(field) => self.field(parent, &field.node, level)?,
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref();
                    let parent = on.map(|c| &c.node.on.node).or(parent);
                    let inner = self.set(parent, &fragment.node.selection_set.node, level + 1)?;
                    Cost {
                        nesting: inner.nesting + 1,
                        ..inner
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let inner = self.fragment(name, level + 1)?;
                    Cost {
                        nesting: inner.nesting + 1,
                        ..inner
                    }
                }
            };
            total.add(cost);
        }
        if level.saturating_add(total.nesting) > self.limits.max_nesting.saturating_add(1) {
            return Err(self.too_deep());
        }
        Ok(total)
    }

    /// The cost of `field` of `parent`, at nesting `level`.
    fn field(
        &mut self,
        parent: Option<&Name>,
        field: &'d Field,
        level: usize,
    ) -> Result<Cost, ServerError> {
        if self.selected && parent.is_some_and(|p| p.as_str() == "Query") {
            let name = field.name.node.as_str();
            self.entities.check_root_field(name, self.limits)?;
            if name == "_entities" {
                let representations = self.argument(field, "representations");
                let (entities, limits) = (self.entities, self.limits);
                entities.check_representations(representations.as_ref(), limits)?;
            }
        }
        let lists = self.lists;
        let shape = parent.and_then(|p| lists.field(p, &field.name.node));
        let below = &field.selection_set.node;
        let inner = if below.items.is_empty() {
            Cost::default()
        } else {
            self.set(shape.map(|s| &s.ty), below, level + 1)?
        };
        let items = match shape.map(|s| s.items) {
            None | Some(Items::One) => 1,
            Some(Items::Page) => page_items(self.int(field, "first"), self.int(field, "last")),
            Some(Items::Argument(name)) => match self.argument(field, name) {
                Some(Value::List(items)) => items.len().max(1),
                _ => 1,
            },
            Some(Items::AtMost(n)) => n,
        };
        Ok(Cost {
            fields: inner.fields.saturating_add(1),
            nesting: inner.nesting,
            depth: inner.depth + 1,
            complexity: items.saturating_mul(inner.complexity).saturating_add(1),
            top_fields: 1,
        })
    }

    /// The cost of fragment `name`, spread at nesting `level`: walked once,
    /// then remembered (it does not depend on where it is spread: its type
    /// is its own).
    fn fragment(&mut self, name: &'d str, level: usize) -> Result<Cost, ServerError> {
        match self.fragments.get(name) {
            Some(Some(cost)) => {
                if level.saturating_add(cost.nesting) > self.limits.max_nesting.saturating_add(1) {
                    return Err(self.too_deep());
                }
                Ok(*cost)
            }
            Some(None) => Err(coded_error(
                codes::BAD_REQUEST,
                format!("fragment {name} spreads itself"),
            )),
            None => {
                // An unknown fragment is validation's to report.
                let Some(fragment) = self.document.fragments.get(name) else {
                    return Ok(Cost::default());
                };
                self.fragments.insert(name, None);
                let on = &fragment.node.type_condition.node.on.node;
                let cost = self.set(Some(on), &fragment.node.selection_set.node, level)?;
                self.fragments.insert(name, Some(cost));
                Ok(cost)
            }
        }
    }

    /// Argument `name` of `field` as a page size: `None` when absent or
    /// null, `Err` when not an `Int` (validation refuses it).
    fn int(&self, field: &Field, name: &str) -> Result<Option<i32>, ()> {
        match self.argument(field, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or(()),
            Some(_) => Err(()),
        }
    }

    /// The value of argument `name` of `field`: a literal, or a variable's
    /// value (or its default).
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let value = &field.get_argument(name)?.node;
        value
            .clone()
            .into_const_with(|variable| {
                self.variables
                    .get(&variable)
                    .cloned()
                    .or_else(|| {
                        self.operation?
                            .variable_definitions
                            .iter()
                            .find(|d| d.node.name.node == variable)
                            .and_then(|d| d.node.default_value.as_ref())
                            .map(|v| v.node.clone())
                    })
                    .ok_or(())
            })
            .ok()
    }

    fn too_deep(&self) -> ServerError {
        let max = self.limits.max_nesting;
        too_complex(format!(
            "the document nests more than {max} levels deep, at most {max} are allowed"
        ))
    }
}
