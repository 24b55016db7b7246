//! The catalog without a search: a page is one prepared statement that
//! walks the order's index from the page's first bound and returns the
//! products themselves.

use sqlx::PgConnection;

use super::{Key, Range};
use crate::domain::product::ProductRecord;
use crate::error::AppResult;

/// Fetches the products of a page of the whole catalog in key order (`ASC`)
/// or from the highest key down (`DESC`): `$bounds` keeps the keys strictly
/// between the range's ends, as index conditions. Evaluates to
/// `Result<Vec<ProductRecord>, sqlx::Error>`.
///
/// Parameters: `$1` in stock only, `$2` the limit, `$3`/`$4` the ends' ids,
/// `$5`/`$6` the ends' prices or names.
macro_rules! browsing {
    ($db:expr, $descending:expr, $bounds:literal, $asc:literal, $desc:literal, $($arg:expr),+ $(,)?) => {
        if $descending {
            sqlx::query_as!(
                ProductRecord,
                "SELECT id, name, description, price, stock, held_stock, created_at, archived_at FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0) AND " + $bounds + "
                 ORDER BY " + $desc + " LIMIT $2",
                $($arg),+
            )
            .fetch_all($db)
            .await
        } else {
            sqlx::query_as!(
                ProductRecord,
                "SELECT id, name, description, price, stock, held_stock, created_at, archived_at FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0) AND " + $bounds + "
                 ORDER BY " + $asc + " LIMIT $2",
                $($arg),+
            )
            .fetch_all($db)
            .await
        }
    };
}

/// Up to `limit` products of `range`, in its reading direction.
pub(super) async fn rows(
    conn: &mut PgConnection,
    in_stock: bool,
    range: &Range,
    limit: i64,
) -> AppResult<Vec<ProductRecord>> {
    let (low_id, high_id) = (range.low_id(), range.high_id());
    Ok(match range.key {
        Key::Id => browsing!(
            &mut *conn,
            range.descending,
            "id > coalesce($3::BIGINT, 0) AND id < coalesce($4::BIGINT, 9223372036854775807)",
            "id ASC",
            "id DESC",
            in_stock,
            limit,
            low_id,
            high_id,
        ),
        Key::Price => browsing!(
            &mut *conn,
            range.descending,
            "(price, id) > (coalesce($5::BIGINT, 0), coalesce($3::BIGINT, 0))
             AND (price, id) < (coalesce($6::BIGINT, 9223372036854775807), coalesce($4::BIGINT, 0))",
            "price ASC, id ASC",
            "price DESC, id DESC",
            in_stock,
            limit,
            low_id,
            high_id,
            range.low_price(),
            range.high_price(),
        ),
        // Without a high end, the highest name stands in for it (an
        // initplan read from the index's end, run only then).
        Key::Name => browsing!(
            &mut *conn,
            range.descending,
            "(lower(name), id) > (lower(coalesce($5::TEXT, '')), coalesce($3::BIGINT, 0))
             AND (lower(name), id) < (coalesce(lower($6::TEXT),
                     (SELECT max(lower(name)) FROM products WHERE archived_at IS NULL)),
                 coalesce($4::BIGINT, 9223372036854775807))",
            "lower(name) ASC, id ASC",
            "lower(name) DESC, id DESC",
            in_stock,
            limit,
            low_id,
            high_id,
            range.low_name(),
            range.high_name(),
        ),
    }?)
}

/// How many products are listed (in stock only, or all).
pub(super) async fn count(conn: &mut PgConnection, in_stock: bool) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM products
           WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)"#,
        in_stock,
    )
    .fetch_one(conn)
    .await?)
}
