//! The GraphQL layer: the schema, its types, and thin resolvers that decode
//! input, call a facade, and shape the result. No SQL lives here.
//!
//! - [`query`] and [`mutations`]: the roots, split by domain;
//! - [`types`]: the object types; [`node`]: `Node`, `node` and `nodes`;
//! - [`federation`]: the entities a federation gateway resolves by key;
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
pub(crate) mod federation;
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

fn schema_builder<Query: async_graphql::ObjectType + Default + 'static>(
    services: Option<Services>,
    public: bool,
    limits: &QueryLimits,
) -> async_graphql::SchemaBuilder<Query, mutations::MutationRoot, subscription::SubscriptionRoot> {
    let mut builder = Schema::build(
        Query::default(),
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

/// The API's schema in SDL, as checked in at `schema.graphql`: the schema
/// served, but for what only a federation gateway asks for (`_service`,
/// `_entities` and their types, added by async-graphql once the query root
/// has entities, [`federation`]). Clients and the SDKs generated from it
/// never call those; a gateway reads the subgraph's schema from `_service`
/// (docs/federation.md).
pub fn sdl() -> String {
    let options = async_graphql::SDLExportOptions::new().include_specified_by();
    schema_builder::<query::ApiQueryRoot>(None, false, &QueryLimits::default())
        .finish()
        .sdl_with_options(options)
}

#[cfg(test)]
mod tests {
    use crate::config::QueryLimits;

    /// The two query roots (`query.rs`) hold the same objects: the schema
    /// served is the API's and the federation's fields and types, nothing
    /// else, and the API's schema has none of them.
    #[test]
    fn the_api_schema_is_the_served_one_without_the_federation_s_fields() {
        let options = async_graphql::SDLExportOptions::new().include_specified_by();
        let served =
            super::build_schema(None, false, &QueryLimits::default()).sdl_with_options(options);
        let api = super::sdl();
        let mut extra: Vec<&str> = served.lines().collect();
        for line in api.lines() {
            let at = extra.iter().position(|l| *l == line);
            let at = at.unwrap_or_else(|| panic!("the served schema lacks {line:?}"));
            extra.remove(at);
        }
        let federation = ["_service", "_entities", "_Any", "_Entity", "_Service"];
        for line in &extra {
            let theirs = federation.iter().any(|name| line.contains(name))
                || ["", "}", "\"\"\"", "\tsdl: String"].contains(line);
            assert!(
                theirs,
                "the served schema has more than the API's: {line:?}"
            );
        }
        assert!(extra.contains(&"\t_service: _Service!"), "{extra:?}");
        assert!(
            extra.contains(&"\t_entities(representations: [_Any!]!): [_Entity]!"),
            "{extra:?}"
        );
        assert!(!federation.iter().any(|name| api.contains(name)));
    }

    /// [`super::inline`] resolves fields without async-graphql's extension
    /// chain, which is right only while the schema has no extension; the
    /// schema is built in `schema_builder` alone (its builder never leaves
    /// this module), so this is where one would be added.
    #[test]
    fn the_schema_has_no_extension() {
        let source = include_str!("mod.rs");
        let start = source.find("fn schema_builder").expect("the builder");
        let end = source[start..].find("\n}\n").expect("its end") + start;
        assert!(
            !source[start..end].contains(".extension("),
            "an extension would wrap every field, which graphql::inline skips: \
             make Inline call the extension chain before adding one"
        );
    }
}
