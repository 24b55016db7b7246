//! Relay cursor connections (`first`/`after`, `last`/`before`), with `nodes`
//! beside `edges` and a `totalCount`.

use async_graphql::{Context, SimpleObject};
use sqlx::PgConnection;

use super::context::reads;
use super::ids::{decode_cursor, encode_cursor};
use crate::domain::page::{Page, PageRequest};
use crate::error::{AppError, AppResult};

/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Relay's page information.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// More items follow this page.
    pub has_next_page: bool,
    /// More items precede this page.
    pub has_previous_page: bool,
    /// The cursor of the first edge.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge.
    pub end_cursor: Option<String>,
}

/// What of a connection the query asks for: what it does not ask for is
/// not built (a cursor is a formatted, base64-encoded string per row, and
/// a page read for its `nodes` needs none but, at most, its ends').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    /// `edges`: every row's cursor, and the rows.
    pub edges: bool,
    /// `nodes`: the rows.
    pub nodes: bool,
    /// `pageInfo { startCursor endCursor }`: the first and last rows' cursors.
    pub ends: bool,
    /// `totalCount`: a count of the whole list, a statement of its own.
    pub total_count: bool,
}

impl Asked {
    /// What the selection of the connection field `ctx` resolves asks for.
    pub fn of(ctx: &Context<'_>) -> Self {
        let look = ctx.look_ahead();
        let page_info = look.field("pageInfo");
        Self {
            edges: look.field("edges").exists(),
            nodes: look.field("nodes").exists(),
            ends: page_info.field("startCursor").exists() || page_info.field("endCursor").exists(),
            total_count: look.field("totalCount").exists(),
        }
    }
}

/// A connection's contents before they take their concrete GraphQL type.
pub struct Parts<T> {
    /// Each item with its cursor, in list order; a cursor nobody asked for
    /// is empty.
    pub items: Vec<(String, T)>,
    /// Where the page stands.
    pub page_info: PageInfo,
    /// How many items the whole list holds.
    pub total_count: i32,
    /// What the query asks for.
    pub asked: Asked,
}

/// Builds a connection from a page of rows; `cursor` gives a row's cursor
/// and `wrap` its GraphQL type; only what `asked` names is built.
pub fn build<R, T, C: From<Parts<T>>>(
    page: Page<R>,
    total_count: i64,
    asked: Asked,
    cursor: impl Fn(&R) -> String,
    wrap: impl Fn(R) -> T,
) -> C {
    let last = page.items.len().saturating_sub(1);
    let items: Vec<(String, T)> = page
        .items
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let wanted = asked.edges || (asked.ends && (i == 0 || i == last));
            let cursor = if wanted { cursor(&row) } else { String::new() };
            (cursor, wrap(row))
        })
        .collect();
    let page_info = PageInfo {
        has_next_page: page.has_next,
        has_previous_page: page.has_previous,
        start_cursor: items.first().map(|(c, _)| c.clone()),
        end_cursor: items.last().map(|(c, _)| c.clone()),
    };
    C::from(Parts {
        items,
        page_info,
        total_count: i32::try_from(total_count).unwrap_or(i32::MAX),
        asked,
    })
}

/// The body every connection field of an id-ordered listing shares: checks
/// the page arguments (`BAD_REQUEST`), then [`run`]s the page's reads.
pub async fn resolve<R: 'static, T, C: From<Parts<T>>>(
    ctx: &Context<'_>,
    args: PageArgs,
    page: impl AsyncFnOnce(&mut PgConnection, &PageRequest) -> AppResult<Page<R>> + 'static,
    count: impl AsyncFnOnce(&mut PgConnection) -> AppResult<i64> + 'static,
    id: impl Fn(&R) -> i64,
    wrap: impl Fn(R) -> T,
) -> async_graphql::Result<C> {
    let request = args.to_request()?;
    run(
        ctx,
        async move |conn| page(conn, &request).await,
        count,
        |row| encode_cursor(id(row)),
        wrap,
    )
    .await
}

/// Reads a page and, only when `totalCount` is asked, the count, both on
/// the operation's read connection, then builds the connection.
pub async fn run<R: 'static, T, C: From<Parts<T>>>(
    ctx: &Context<'_>,
    page: impl AsyncFnOnce(&mut PgConnection) -> AppResult<Page<R>> + 'static,
    count: impl AsyncFnOnce(&mut PgConnection) -> AppResult<i64> + 'static,
    cursor: impl Fn(&R) -> String,
    wrap: impl Fn(R) -> T,
) -> async_graphql::Result<C> {
    let asked = Asked::of(ctx);
    let (rows, total) = reads(ctx)?
        .run(async move |conn| {
            let rows = page(&mut *conn).await?;
            let total = if asked.total_count {
                count(conn).await?
            } else {
                0
            };
            Ok((rows, total))
        })
        .await?;
    Ok(build(rows, total, asked, cursor, wrap))
}

/// Declares the concrete `XConnection` and `XEdge` types of a node type
/// (async-graphql needs concrete output types, and these are their names in
/// the contract).
macro_rules! connection {
    ($node:ty, $connection:ident, $edge:ident) => {
        #[doc = concat!("An item (`", stringify!($node), "`) and its cursor.")]
        #[derive(async_graphql::SimpleObject, Debug, Clone)]
        pub struct $edge {
            /// Where this item stands in the list.
            pub cursor: String,
            /// The item.
            pub node: $crate::graphql::inline::Inline<$node>,
        }

        #[doc = concat!("A page of `", stringify!($node), "` items.")]
        #[derive(async_graphql::SimpleObject, Debug, Clone)]
        pub struct $connection {
            /// The items with their cursors.
            pub edges: Vec<$edge>,
            /// The items alone.
            pub nodes: Vec<$crate::graphql::inline::Inline<$node>>,
            /// Where this page stands.
            pub page_info: $crate::graphql::connection::PageInfo,
            /// How many items the whole list holds.
            pub total_count: i32,
        }

        impl From<$crate::graphql::connection::Parts<$node>> for $connection {
            fn from(parts: $crate::graphql::connection::Parts<$node>) -> Self {
                use $crate::graphql::inline::Inline;
                let nodes = if parts.asked.nodes {
                    parts
                        .items
                        .iter()
                        .map(|(_, node)| Inline(node.clone()))
                        .collect()
                } else {
                    Vec::new()
                };
                let edges = if parts.asked.edges {
                    parts
                        .items
                        .into_iter()
                        .map(|(cursor, node)| $edge {
                            cursor,
                            node: Inline(node),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                Self {
                    edges,
                    nodes,
                    page_info: parts.page_info,
                    total_count: parts.total_count,
                }
            }
        }
    };
}
pub(crate) use connection;

/// The four pagination arguments as a client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    /// The arguments in the order every connection field declares them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    /// Validates the arguments into a page request: sizes 0 to 100, cursors
    /// we issued, and not `first` together with `last`.
    pub fn to_request(&self) -> Result<PageRequest, AppError> {
        let (limit, backward) = self.size()?;
        let after = self.after.as_deref().map(decode_cursor).transpose()?;
        let before = self.before.as_deref().map(decode_cursor).transpose()?;
        Ok(PageRequest {
            limit,
            after,
            before,
            backward,
        })
    }

    /// The page's size (0 to 100, `BAD_REQUEST` else) and whether it is
    /// taken from the end (`last`); not `first` together with `last`.
    pub fn size(&self) -> Result<(i64, bool), AppError> {
        let size = |name: &str, n: i32| {
            if (0..=MAX_PAGE_SIZE).contains(&n) {
                Ok(i64::from(n))
            } else {
                Err(AppError::BadRequest(format!(
                    "{name} must be between 0 and {MAX_PAGE_SIZE}"
                )))
            }
        };
        Ok(match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(AppError::BadRequest("pass first or last, not both".into()));
            }
            (Some(first), None) => (size("first", first)?, false),
            (None, Some(last)) => (size("last", last)?, true),
            (None, None) => (i64::from(DEFAULT_PAGE_SIZE), false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_args_are_checked() {
        let ok = PageArgs {
            first: Some(5),
            ..Default::default()
        }
        .to_request()
        .unwrap();
        assert_eq!((ok.limit, ok.backward), (5, false));
        assert_eq!(PageArgs::default().to_request().unwrap().limit, 20);
        for bad in [
            PageArgs {
                first: Some(101),
                ..Default::default()
            },
            PageArgs {
                first: Some(-1),
                ..Default::default()
            },
            PageArgs {
                last: Some(i32::MAX),
                ..Default::default()
            },
            PageArgs {
                first: Some(1),
                last: Some(1),
                ..Default::default()
            },
            PageArgs {
                after: Some("garbage".into()),
                ..Default::default()
            },
        ] {
            assert!(
                matches!(bad.to_request(), Err(AppError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    /// What a built connection held: its cursors, in order.
    struct Cursors(Vec<String>, PageInfo);

    impl From<Parts<i64>> for Cursors {
        fn from(parts: Parts<i64>) -> Self {
            Self(
                parts.items.into_iter().map(|(c, _)| c).collect(),
                parts.page_info,
            )
        }
    }

    #[test]
    fn only_the_cursors_asked_for_are_made() {
        let page = || crate::domain::page::Page {
            items: vec![1_i64, 2, 3],
            has_next: true,
            has_previous: false,
        };
        let asked = |edges, ends| Asked {
            edges,
            nodes: true,
            ends,
            total_count: false,
        };
        let made = |edges, ends| {
            let Cursors(cursors, info) =
                build(page(), 0, asked(edges, ends), |n| format!("c{n}"), |n| n);
            (cursors, info.start_cursor, info.end_cursor)
        };
        assert_eq!(made(true, true).0, ["c1", "c2", "c3"]);
        let (cursors, start, end) = made(false, true);
        assert_eq!(cursors, ["c1", "", "c3"]);
        assert_eq!((start.as_deref(), end.as_deref()), (Some("c1"), Some("c3")));
        assert_eq!(made(false, false).0, ["", "", ""]);
    }
}
