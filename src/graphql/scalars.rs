//! The contract's custom scalars: `Money` and `DateTime`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{Datelike, SecondsFormat, Utc};

/// An exact amount of money in the store currency's smallest unit, serialized
/// as a string of decimal digits, e.g. "15000". Inputs accept the same string
/// (or an Int). Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub i64);

/// An exact amount of money in the store currency's smallest unit, serialized
/// as a string of decimal digits, e.g. "15000". Inputs accept the same string
/// (or an Int). Never negative.
#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            // Digits only, with an optional minus so that a negative amount
            // reaches the use case and is reported there as INVALID_INPUT.
            Value::String(s) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InputValueError::custom(
                        "Money must be a string of decimal digits, e.g. \"15000\"",
                    ));
                }
                s.parse::<i64>().ok()
            }
            Value::Number(n) => n.as_i64(),
            _ => return Err(InputValueError::expected_type(value)),
        };
        parsed.map(Money).ok_or_else(|| {
            InputValueError::custom(
                "Money must be a whole amount between 0 and 9223372036854775807",
            )
        })
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Number(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// An instant, as an RFC 3339 string with offset, e.g. "2026-11-23T09:30:00Z".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, as an RFC 3339 string with offset, e.g. "2026-11-23T09:30:00Z".
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(s) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        let instant = chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                InputValueError::custom("DateTime must be RFC 3339, e.g. \"2026-11-23T09:30:00Z\"")
            })?;
        // An offset can carry an instant past the years RFC 3339 can write
        // (0001-9999 in UTC), and it is written back in UTC.
        if !(1..=9999).contains(&instant.year()) {
            return Err(InputValueError::custom(
                "DateTime must fall between the years 0001 and 9999 in UTC",
            ));
        }
        Ok(DateTime(instant))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(t: chrono::DateTime<Utc>) -> Self {
        DateTime(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_digit_strings_and_ints_and_nothing_else() {
        assert_eq!(
            Money::parse(Value::String("15000".into())).unwrap(),
            Money(15000)
        );
        assert_eq!(Money::parse(Value::from(42)).unwrap(), Money(42));
        assert_eq!(Money::parse(Value::String("-5".into())).unwrap(), Money(-5));
        for bad in ["", "1.5", "1e3", "+5", " 5", "abc", "99999999999999999999"] {
            assert!(Money::parse(Value::String(bad.into())).is_err(), "{bad:?}");
        }
        assert!(Money::parse(Value::from(1.5)).is_err());
        assert!(Money::parse(Value::Boolean(true)).is_err());
        assert_eq!(Money(15000).to_value(), Value::String("15000".into()));
    }

    #[test]
    fn datetimes_round_trip_in_utc() {
        let t = DateTime::parse(Value::String("2026-11-23T18:30:00+09:00".into())).unwrap();
        assert_eq!(t.to_value(), Value::String("2026-11-23T09:30:00Z".into()));
        assert!(DateTime::parse(Value::String("yesterday".into())).is_err());
        for outside in [
            "9999-12-31T23:59:59-23:59",
            "0000-06-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
        ] {
            assert!(
                DateTime::parse(Value::String(outside.into())).is_err(),
                "{outside}"
            );
        }
        let last = DateTime::parse(Value::String("9999-12-31T23:59:59.999999Z".into())).unwrap();
        assert_eq!(
            last.to_value(),
            Value::String("9999-12-31T23:59:59.999999Z".into())
        );
    }
}
