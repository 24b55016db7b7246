//! The GraphQL layer: the schema, its types, and thin resolvers that decode
//! input, call a facade, and shape the result. No SQL lives here.
//!
//! - [`query`] and [`mutations`]: the roots, split by domain;
//! - [`types`]: the object types; [`node`]: `Node`, `node` and `nodes`;
//! - [`scalars`]: `Money` and `DateTime`; [`ids`]: global ids and cursors;
//! - [`connection`]: Relay connections; [`loaders`]: DataLoaders;
//! - [`inline`]: the objects a response holds by the hundred, resolved
//!   without a boxed future per field;
//! - [`errors`]: the one mapping from errors to GraphQL;
//! - [`gate`]: what every operation passes before it runs (may it run,
//!   what does it cost: persisted queries, trusted documents, the limits);
//! - [`operation`]: admitting and running one operation;
//! - [`context`]: what a resolver may ask of its request.

pub(crate) mod connection;
pub(crate) mod context;
pub(crate) mod errors;
pub(crate) mod gate;
pub(crate) mod ids;
pub(crate) mod inline;
pub(crate) mod loaders;
pub(crate) mod mutations;
pub(crate) mod node;
pub(crate) mod operation;
pub(crate) mod query;
pub(crate) mod scalars;
pub(crate) mod subscription;
pub(crate) mod types;

use async_graphql::Schema;

use crate::config::QueryLimits;
use crate::facades::Services;

/// The server's schema.
pub type AppSchema =
    Schema<query::QueryRoot, mutations::MutationRoot, subscription::SubscriptionRoot>;

/// Builds the schema. `public` turns off introspection and field
/// suggestions (production). The limits on what a document may ask are
/// checked before it reaches the schema ([`gate`]).
pub fn build_schema(services: Option<Services>, public: bool, limits: &QueryLimits) -> AppSchema {
    schema_builder(services, public, limits).finish()
}

/// The same schema without async-graphql's validation rules (its nesting
/// bound still holds), for documents that passed them before: the rules
/// read only the document, so a text that passed once passes again
/// ([`gate`]'s cache remembers which did).
pub fn build_prevalidated_schema(
    services: Option<Services>,
    public: bool,
    limits: &QueryLimits,
) -> AppSchema {
    schema_builder(services, public, limits)
        .validation_mode(async_graphql::ValidationMode::Fast)
        .finish()
}

fn schema_builder(
    services: Option<Services>,
    public: bool,
    limits: &QueryLimits,
) -> async_graphql::SchemaBuilder<
    query::QueryRoot,
    mutations::MutationRoot,
    subscription::SubscriptionRoot,
> {
    let mut builder = Schema::build(
        query::QueryRoot::default(),
        mutations::MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    // async-graphql's own bound on nesting, above the gate's, which refuses
    // any document that would reach it.
    .limit_recursive_depth(limits.max_nesting.saturating_add(1))
    .override_output_type_description::<async_graphql::ID>(
        "A globally unique, opaque identifier (base64 of `Type:id`, as graphql-relay's \
         `toGlobalId`): pass it back as it is, never parse it.",
    );
    if let Some(services) = services {
        builder = builder.data(services);
    }
    if public {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
}

/// The schema in SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    let options = async_graphql::SDLExportOptions::new().include_specified_by();
    build_schema(None, false, &QueryLimits::default()).sdl_with_options(options)
}

#[cfg(test)]
mod tests {
    /// [`super::inline`] resolves fields without async-graphql's extension
    /// chain, which is right only while the schema has no extension; the
    /// schema is built in `schema_builder` alone (its builder never leaves
    /// this module), so this is where one would be added.
    #[test]
    fn the_schema_has_no_extension() {
        let source = include_str!("mod.rs");
        let start = source.find("fn schema_builder(").expect("the builder");
        let end = source[start..].find("\n}\n").expect("its end") + start;
        assert!(
            !source[start..end].contains(".extension("),
            "an extension would wrap every field, which graphql::inline skips: \
             make Inline call the extension chain before adding one"
        );
    }
}
