//! `STOREFRONT` and `ORDER_FORM_URL`: the shop's own pages, and where the
//! API sends a shopper to pay for an order.

use super::AppEnv;
use super::parse::{ConfigError, Env};

/// What stands for the order's global id in [`Storefront::order_form_url`].
pub const ORDER_ID_PLACEHOLDER: &str = "{id}";

/// The reference storefront (`clients/storefront/`, `http::storefront`)
/// and the order form's address.
#[derive(Debug, Clone, PartialEq)]
pub struct Storefront {
    /// `STOREFRONT`: serve the reference storefront at `/shop/`, with the
    /// demo shoppers' tokens in its page; on by default in development
    /// only (the tokens make anyone a demo shopper).
    pub serve: bool,
    /// `ORDER_FORM_URL`: the address of an order's form page, `{id}`
    /// standing for the order's global id (`https://shop.example/checkout/{id}`):
    /// `Order.paymentUrl`, and the `Location` of the response that creates
    /// an order. Unset: the storefront's page, `<PUBLIC_BASE_URL>/shop/orders/{id}`.
    pub order_form_url: Option<String>,
}

impl Storefront {
    pub(super) fn from_env(env: &Env, app_env: AppEnv) -> Result<Self, ConfigError> {
        let development = app_env == AppEnv::Development;
        let order_form_url = env.optional("ORDER_FORM_URL");
        if let Some(url) = &order_form_url {
            check_template(url).map_err(|why| ConfigError::of("ORDER_FORM_URL", why))?;
        }
        Ok(Self {
            serve: env.parse("STOREFRONT", if development { "true" } else { "false" })?,
            order_form_url,
        })
    }
}

/// A template must make an absolute http(s) URL that can travel in a
/// `Location` header (visible ASCII, no spaces) and name the order.
fn check_template(url: &str) -> Result<(), &'static str> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err("must be an absolute http:// or https:// URL");
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("may hold only visible ASCII characters (percent-encode the rest)");
    }
    if !url.contains(ORDER_ID_PLACEHOLDER) {
        return Err("must hold {id}, where the order's id goes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn the_storefront_is_served_in_development_only_unless_asked() {
        assert!(config(&[]).unwrap().storefront.serve);
        let production = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", "k3y-0f-th3-sh0p-that-is-l0ng-en0ugh"),
        ];
        assert!(!config(&production).unwrap().storefront.serve);
        let asked = [production[0], production[1], ("STOREFRONT", "true")];
        assert!(config(&asked).unwrap().storefront.serve);
        assert!(!config(&[("STOREFRONT", "false")]).unwrap().storefront.serve);
    }

    #[test]
    fn an_order_form_url_is_an_absolute_template_naming_the_order() {
        let ok = config(&[(
            "ORDER_FORM_URL",
            "https://shop.example/checkout/{id}?from=api",
        )]);
        assert_eq!(
            ok.unwrap().storefront.order_form_url.as_deref(),
            Some("https://shop.example/checkout/{id}?from=api")
        );
        for bad in [
            "https://shop.example/checkout",
            "/checkout/{id}",
            "shop.example/{id}",
            "https://shop.example/check out/{id}",
            "https://shop.example/caf\u{e9}/{id}",
            "javascript:alert(1)//{id}",
        ] {
            let err = config(&[("ORDER_FORM_URL", bad)]).unwrap_err();
            assert!(err.0.contains("ORDER_FORM_URL"), "{bad:?}: {}", err.0);
        }
    }
}
