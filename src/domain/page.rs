//! Keyset pagination, newest first.
//!
//! Every listing is ordered by `id DESC` (ids grow with insertion, so this is
//! "newest first" and uses the primary key or a `(..., id DESC)` index).
//! A page is asked for as "the `limit` rows after `after`" (forward) or "the
//! `limit` rows before `before`" (backward); one extra row is fetched to learn
//! whether more exist, so a page costs one indexed query.

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
    /// The SQL for this page: `base` (trusted SQL text, never input) must
    /// select from one table (or a join whose `id` column is unambiguous)
    /// and end in a `WHERE` clause; `$1`, `$2` and `$3` are bound by
    /// [`PageRequest::bind`] to after, before and limit + 1, so extra
    /// parameters of `base` start at `$4`.
    pub fn sql(&self, base: &str) -> sqlx::AssertSqlSafe<String> {
        let order = if self.backward { "ASC" } else { "DESC" };
        sqlx::AssertSqlSafe(format!(
            "{base} AND ($1::BIGINT IS NULL OR id < $1) AND ($2::BIGINT IS NULL OR id > $2) \
             ORDER BY id {order} LIMIT $3"
        ))
    }

    /// Binds the page parameters (`$1`..`$3`) of [`PageRequest::sql`].
    pub fn bind<'q, O>(
        &self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(self.after)
            .bind(self.before)
            .bind(self.limit + 1)
    }

    /// Turns the fetched rows (up to `limit + 1`, in query order) into a page.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit.max(0) as usize);
        if self.backward {
            rows.reverse();
            Page {
                items: rows,
                has_next: self.before.is_some(),
                has_previous: more,
            }
        } else {
            Page {
                items: rows,
                has_next: more,
                has_previous: self.after.is_some(),
            }
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
