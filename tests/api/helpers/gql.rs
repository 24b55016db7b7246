//! GraphQL responses as the tests read them: [`Gql`], its `data`, its
//! top-level error codes and a mutation's `userErrors`.

use serde_json::Value;

/// A GraphQL response, split for assertions.
#[derive(Debug, Clone)]
pub struct Gql {
    /// The HTTP status.
    pub status: u16,
    /// The whole JSON body.
    pub body: Value,
}

impl Gql {
    /// `data`, asserting there were no top-level errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of each top-level error.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one top-level error code, asserting there is exactly one.
    pub fn error_code(&self) -> String {
        let codes = self.error_codes();
        assert_eq!(codes.len(), 1, "expected one error: {}", self.body);
        codes[0].clone()
    }

    /// The `userErrors` codes of mutation `name`.
    pub fn user_error_codes(&self, name: &str) -> Vec<String> {
        self.data()[name]["userErrors"]
            .as_array()
            .expect("userErrors")
            .iter()
            .map(|e| e["code"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The `userErrors` fields of mutation `name`, joined with dots.
    pub fn user_error_fields(&self, name: &str) -> Vec<String> {
        self.data()[name]["userErrors"]
            .as_array()
            .expect("userErrors")
            .iter()
            .map(|e| {
                e["field"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .map(|p| p.as_str().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .unwrap_or_default()
            })
            .collect()
    }
}
