//! Reading many rows as one row of arrays (a columnar read).
//!
//! sqlx does real work for every row it receives (the row stream, parsing
//! the message, building a `PgRow`, decoding each column), and PostgreSQL
//! sends every row as a message of its own. The reads that return many
//! small rows on hot paths therefore ask for a single row holding one array
//! per column
//! (`SELECT array_agg(a), array_agg(b) ... FROM t WHERE ...`), which sqlx
//! decodes in a tight loop, and [`zip_columns!`] turns the arrays back into
//! records.
//!
//! The arrays line up element by element: every aggregate of one query
//! level is fed the same input rows in the same order. Their order is
//! otherwise unspecified, so a read that promises one sorts the records
//! itself. Over no rows, `array_agg` is NULL, hence each column is an
//! `Option<Vec<T>>` (the statements say so to `query!`: `array_agg(a) AS "a?"`).

/// Zips the columns of a columnar read into records.
///
/// `zip_columns!(Record { a, b, c })` reads the local variables `a`, `b` and
/// `c` (each an `Option<Vec<T>>`, named after the record's fields) and evaluates to
/// `Result<Vec<Record>, sqlx::Error>`: an error when the arrays differ in
/// length, which would otherwise drop rows without a word.
macro_rules! zip_columns {
    ($record:ident { $($field:ident),+ $(,)? }) => {{
        $(let $field = $field.unwrap_or_default();)+
        let lengths = [$($field.len()),+];
        let len = lengths[0];
        if lengths.iter().any(|l| *l != len) {
            Err(sqlx::Error::Decode(
                format!("a columnar read returned arrays of unequal lengths {lengths:?}").into(),
            ))
        } else {
            $(let mut $field = $field.into_iter();)+
            // Every iterator has `len` items, so none runs out early.
            Ok((0..len)
                .map_while(|_| Some($record { $($field: $field.next()?),+ }))
                .collect::<Vec<_>>())
        }
    }};
}

pub(crate) use zip_columns;

#[cfg(test)]
mod tests {
    type Column<T> = Option<Vec<T>>;

    #[derive(Debug, PartialEq)]
    struct Pair {
        id: i64,
        name: String,
    }

    fn zip(id: Column<i64>, name: Column<String>) -> Result<Vec<Pair>, sqlx::Error> {
        zip_columns!(Pair { id, name })
    }

    #[test]
    fn zips_arrays_element_by_element() {
        let pairs = zip(Some(vec![7, 3]), Some(vec!["a".into(), "b".into()])).unwrap();
        assert_eq!(
            pairs,
            [
                Pair {
                    id: 7,
                    name: "a".into()
                },
                Pair {
                    id: 3,
                    name: "b".into()
                }
            ]
        );
    }

    #[test]
    fn no_rows_is_no_records() {
        assert!(zip(None, None).unwrap().is_empty());
    }

    #[test]
    fn unequal_lengths_are_an_error_not_fewer_records() {
        let err = zip(Some(vec![1, 2]), Some(vec!["a".into()])).unwrap_err();
        assert!(err.to_string().contains("[2, 1]"), "{err}");
        assert!(zip(Some(vec![1]), None).is_err());
    }
}
