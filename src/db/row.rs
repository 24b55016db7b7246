//! Decoding a column of a row by its position, checked against its name.
//!
//! sqlx finds a column by name through a hash map of the statement's column
//! names, once per column per row; for the hundreds of columns of a nested
//! read that lookup (and hashing the name) was a few per cent of the
//! server's CPU (docs/benchmarks.md). The records read most often decode by
//! position instead, and fall back to the name when the statement's column
//! at that position is not the one expected, so a statement that lists its
//! columns in another order still decodes right, only slower.
//!
//! sqlx also checks, for every column of every row, that the column's type
//! is one the Rust type accepts (an enum comparison of type descriptions,
//! another ~4 % of the nested read). A column whose type is exactly the
//! Rust type's own (the same type oid) needs no such check; any other
//! column, even a compatible one (`VARCHAR` into `String`), takes sqlx's
//! checked path, so a mismatch is still an error, never a misread value.

use sqlx::postgres::PgRow;
use sqlx::{Column, Decode, Postgres, Row, Type};

/// The value of column `name`, expected at `index`.
pub fn get<'r, T>(row: &'r PgRow, index: usize, name: &str) -> Result<T, sqlx::Error>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    match row.columns().get(index) {
        Some(column) if column.name() == name => {
            let oid = column.type_info().oid();
            if oid.is_some() && oid == T::type_info().oid() {
                row.try_get_unchecked(index)
            } else {
                row.try_get(index)
            }
        }
        _ => row.try_get(name),
    }
}
