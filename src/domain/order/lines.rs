//! An order's lines: how the requested lines are checked and merged
//! ([`validate_lines`]), priced from the catalog ([`price_lines`], which
//! every way of creating an order goes through), and fingerprinted for
//! idempotency ([`fingerprint`]).

use std::collections::HashMap;

use super::{MAX_LINES, MAX_QUANTITY};
use crate::domain::product::{self, ProductRecord};
use crate::domain::stock;
use crate::error::{Field, Rejection, Rejections};

/// One requested line, as the client sent it.
#[derive(Debug, Clone)]
pub struct LineRequest {
    /// The product's database id; `None` when the client's id did not decode.
    pub product_id: Option<i64>,
    /// Units wanted.
    pub quantity: i32,
}

/// A well-formed line: duplicates of one product merged into the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The index of the (first) request line, for error paths.
    pub index: usize,
    /// The product.
    pub product_id: i64,
    /// Units wanted, summed over duplicates.
    pub quantity: i32,
}

/// Checks the shape of the requested lines: 1 to [`MAX_LINES`] of them
/// (else one rejection for the whole list), each with a Product id and 1 to
/// [`MAX_QUANTITY`] units. Duplicates of a product are merged into its first
/// line, and the merged quantity is bounded too.
///
/// Returns the well-formed lines together with a rejection for every
/// malformed one, so that the caller can check the rest against the catalog
/// and report every failing line at once.
pub fn validate_lines(requests: &[LineRequest]) -> Result<(Vec<Line>, Rejections), Rejection> {
    if requests.is_empty() || requests.len() > MAX_LINES {
        return Err(Rejection::invalid(
            Field::Lines,
            format!("an order has 1 to {MAX_LINES} lines"),
        ));
    }
    let mut errors = Rejections::new();
    let mut lines: Vec<Line> = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let mut ok = true;
        if !(1..=MAX_QUANTITY).contains(&request.quantity) {
            errors.push(Rejection::invalid(
                Field::LineQuantity(index),
                format!("quantity must be 1 to {MAX_QUANTITY}"),
            ));
            ok = false;
        }
        let Some(product_id) = request.product_id else {
            errors.push(Rejection::invalid(
                Field::LineProduct(index),
                "not a valid Product id",
            ));
            continue;
        };
        if !ok {
            continue;
        }
        match lines.iter_mut().find(|l| l.product_id == product_id) {
            // Both are at most MAX_QUANTITY, so the sum cannot overflow.
            Some(line) => line.quantity += request.quantity,
            None => lines.push(Line {
                index,
                product_id,
                quantity: request.quantity,
            }),
        }
    }
    lines.retain(|line| {
        let fits = line.quantity <= MAX_QUANTITY;
        if !fits {
            errors.push(Rejection::invalid(
                Field::LineQuantity(line.index),
                format!("at most {MAX_QUANTITY} units of one product per order"),
            ));
        }
        fits
    });
    Ok((lines, errors))
}

/// A line priced from the catalog, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The product.
    pub product_id: i64,
    /// Units ordered.
    pub quantity: i32,
    /// The product's price now, copied into the order.
    pub unit_price: i64,
}

/// Checks each line against the catalog (the product exists and is not
/// archived: `PRODUCT_NOT_FOUND`; its stock covers the line:
/// `PRODUCT_OUT_OF_STOCK`) and prices it. Every failing line is added to
/// `errors`. Every way of creating an order goes through here.
pub fn price_lines(
    lines: &[Line],
    products: &HashMap<i64, ProductRecord>,
    errors: &mut Rejections,
) -> Vec<PricedLine> {
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        let found = products.get(&line.product_id);
        let product = match product::orderable(found, Field::LineProduct(line.index)) {
            Ok(product) => product,
            Err(gone) => {
                errors.push(gone);
                continue;
            }
        };
        match stock::check(
            product.stock,
            line.quantity,
            Field::LineQuantity(line.index),
        ) {
            Ok(()) => priced.push(PricedLine {
                product_id: line.product_id,
                quantity: line.quantity,
                unit_price: product.price,
            }),
            Err(short) => errors.push(short),
        }
    }
    priced
}

/// A canonical text of an order's lines (by product), so that a retry with
/// the same idempotency key is recognised whatever the order of its lines.
pub fn fingerprint(lines: &[Line]) -> String {
    let mut pairs: Vec<(i64, i32)> = lines.iter().map(|l| (l.product_id, l.quantity)).collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(p, q)| format!("{p}x{q}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    use crate::error::{AppError, ErrorCode};

    fn req(product_id: Option<i64>, quantity: i32) -> LineRequest {
        LineRequest {
            product_id,
            quantity,
        }
    }

    fn fields(errors: Rejections) -> Vec<Option<Field>> {
        let Err(AppError::Rejected(errors)) = errors.finish() else {
            panic!("no rejections")
        };
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn duplicates_merge_into_the_first_line() {
        let (lines, errors) =
            validate_lines(&[req(Some(1), 2), req(Some(2), 1), req(Some(1), 3)]).unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            lines,
            vec![
                Line {
                    index: 0,
                    product_id: 1,
                    quantity: 5
                },
                Line {
                    index: 1,
                    product_id: 2,
                    quantity: 1
                }
            ]
        );
    }

    #[test]
    fn every_bad_line_is_reported_and_the_good_ones_kept() {
        let (lines, errors) = validate_lines(&[
            req(Some(1), 0),
            req(None, 1),
            req(Some(2), MAX_QUANTITY + 1),
            req(Some(3), 2),
        ])
        .unwrap();
        assert_eq!(
            fields(errors),
            [
                Some(Field::LineQuantity(0)),
                Some(Field::LineProduct(1)),
                Some(Field::LineQuantity(2))
            ]
        );
        assert_eq!(
            lines.len(),
            1,
            "line 3 is still checked against the catalog"
        );
        assert!(validate_lines(&[]).is_err());
        assert!(validate_lines(&vec![req(Some(1), 1); MAX_LINES + 1]).is_err());
        let (lines, errors) =
            validate_lines(&[req(Some(1), MAX_QUANTITY), req(Some(1), 1)]).unwrap();
        assert!(lines.is_empty());
        assert_eq!(
            fields(errors),
            [Some(Field::LineQuantity(0))],
            "the merged quantity is bounded too"
        );
    }

    #[test]
    fn lines_are_priced_from_the_catalog_or_rejected() {
        let product = |id, price, stock| {
            (
                id,
                ProductRecord {
                    id,
                    name: "p".into(),
                    description: String::new(),
                    price,
                    stock,
                    held_stock: 0,
                    created_at: Utc::now(),
                    archived_at: (id == 3).then(Utc::now),
                },
            )
        };
        let products: HashMap<_, _> =
            [product(1, 500, 3), product(2, 700, 1), product(3, 100, 9)].into();
        let lines = [
            Line {
                index: 0,
                product_id: 1,
                quantity: 3,
            },
            Line {
                index: 1,
                product_id: 2,
                quantity: 2,
            },
            Line {
                index: 2,
                product_id: 9,
                quantity: 1,
            },
            Line {
                index: 3,
                product_id: 3,
                quantity: 1,
            },
        ];
        let mut errors = Rejections::new();
        let priced = price_lines(&lines, &products, &mut errors);
        assert_eq!(
            priced,
            [PricedLine {
                product_id: 1,
                quantity: 3,
                unit_price: 500
            }]
        );
        let Err(AppError::Rejected(errors)) = errors.finish() else {
            panic!()
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                ErrorCode::ProductOutOfStock,
                ErrorCode::ProductNotFound,
                ErrorCode::ProductNotFound
            ],
            "product 9 does not exist, product 3 is archived"
        );
    }

    #[test]
    fn fingerprints_ignore_line_order() {
        let a = Line {
            index: 0,
            product_id: 1,
            quantity: 2,
        };
        let b = Line {
            index: 1,
            product_id: 5,
            quantity: 1,
        };
        assert_eq!(
            fingerprint(&[a.clone(), b.clone()]),
            fingerprint(&[b.clone(), a.clone()])
        );
        assert_ne!(
            fingerprint(std::slice::from_ref(&a)),
            fingerprint(&[Line { quantity: 3, ..a }])
        );
    }
}
