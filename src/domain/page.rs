//! Keyset pagination, newest first.
//!
//! Every listing is ordered by `id DESC` (ids grow with insertion, so this is
//! "newest first" and uses the primary key or a `(..., id DESC)` index).
//! A page is asked for as "the `limit` rows after `after`" (forward) or "the
//! `limit` rows before `before`" (backward); one extra row is fetched to learn
//! whether more exist, so a page costs one indexed query.
//!
//! Every listing has two static statements, one per direction (see
//! [`fetch_page!`]): both keep the rows between the cursors,
//! `id < coalesce($n::BIGINT, 9223372036854775807)` for `after` and
//! `id > coalesce($m::BIGINT, 0)` for `before` (a missing cursor is the
//! list's end), and fetch [`PageRequest::fetch_limit`] rows, forward
//! `ORDER BY id DESC`, backward `ORDER BY id ASC`; [`PageRequest::finish`]
//! turns either into a page. The bounds are written so, not as
//! `($n IS NULL OR id < $n)`, because a prepared statement's generic plan
//! can start its index scan at a `coalesce` of parameters but can only test
//! an `OR` row by row: page 500 would read the 10,000 rows before it.

/// Fetches a page's rows with `sqlx::query_as!`, in query order: `$sql` is
/// the listing's statement up to `ORDER BY id` and `$limit` its `LIMIT $n`
/// (bound to [`PageRequest::fetch_limit`]); a forward page puts `DESC`
/// between them, a backward one `ASC`. Two static statements, each checked
/// at compile time. Evaluates to `Result<Vec<$record>, sqlx::Error>`.
macro_rules! fetch_page {
    ($db:expr, $req:expr, $record:path, $sql:literal, $limit:literal, $($arg:expr),+ $(,)?) => {
        if $req.backward {
            sqlx::query_as!($record, $sql + " ASC " + $limit, $($arg),+).fetch_all($db).await
        } else {
            sqlx::query_as!($record, $sql + " DESC " + $limit, $($arg),+).fetch_all($db).await
        }
    };
}

pub(crate) use fetch_page;

/// One page request, already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many rows the page holds at most.
    pub limit: i64,
    /// Only rows older than this id (`after` cursor).
    pub after: Option<i64>,
    /// Only rows newer than this id (`before` cursor).
    pub before: Option<i64>,
    /// Paging from the end (`last`/`before`): take the oldest rows of the range.
    pub backward: bool,
}

/// A page of rows, newest first, and whether rows exist beyond it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// More (older) rows follow the last one.
    pub has_next: bool,
    /// More (newer) rows precede the first one.
    pub has_previous: bool,
}

impl PageRequest {
    /// How many rows a page's statement fetches: one more than the page
    /// holds, to learn whether more exist.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Turns the fetched rows (up to `limit + 1`, in query order) into a page.
    pub fn finish<T>(&self, rows: Vec<T>) -> Page<T> {
        finish(
            rows,
            self.limit,
            self.backward,
            self.after.is_some(),
            self.before.is_some(),
        )
    }
}

/// Turns the rows of a page's statement (up to `limit + 1`, in query order:
/// from the page's far end when `backward`) into the page, in list order.
/// `after`/`before`: whether the request bounded the list with that cursor
/// (rows exist beyond a cursor, as far as a page can tell).
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: i64,
    backward: bool,
    after: bool,
    before: bool,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    if backward {
        rows.reverse();
        Page {
            items: rows,
            has_next: before,
            has_previous: more,
        }
    } else {
        Page {
            items: rows,
            has_next: more,
            has_previous: after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_pages_report_more_rows_from_the_extra_one() {
        let req = PageRequest {
            limit: 2,
            after: None,
            before: None,
            backward: false,
        };
        let page = req.finish(vec![5, 4, 3]);
        assert_eq!(page.items, vec![5, 4]);
        assert!(page.has_next && !page.has_previous);
        let last = req.finish(vec![2, 1]);
        assert!(!last.has_next);
    }

    #[test]
    fn backward_pages_come_back_newest_first() {
        let req = PageRequest {
            limit: 2,
            after: None,
            before: Some(9),
            backward: true,
        };
        let page = req.finish(vec![10, 11, 12]);
        assert_eq!(page.items, vec![11, 10]);
        assert!(page.has_previous && page.has_next);
    }
}
