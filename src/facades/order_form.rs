//! The address of an order's form page, where its shopper pays:
//! `Order.paymentUrl`, and the `Location` of the response that creates the
//! order. One template for both (`ORDER_FORM_URL`), so they never differ.

use crate::config::{ORDER_ID_PLACEHOLDER, Storefront};

/// Where the storefront serves an order's form page, under the public base
/// URL, when `ORDER_FORM_URL` does not say otherwise.
const STOREFRONT_ORDER_PAGE: &str = "/shop/orders/{id}";

/// Makes order form URLs from the configured template.
#[derive(Debug, Clone)]
pub struct OrderForm {
    template: String,
}

impl OrderForm {
    /// `ORDER_FORM_URL`, or the reference storefront's page under
    /// `base_url` (the public base URL).
    pub fn new(storefront: &Storefront, base_url: &str) -> Self {
        let template = storefront
            .order_form_url
            .clone()
            .unwrap_or_else(|| format!("{base_url}{STOREFRONT_ORDER_PAGE}"));
        Self { template }
    }

    /// The form page of the order with global id `order_id`.
    pub fn url(&self, order_id: &str) -> String {
        self.template
            .replace(ORDER_ID_PLACEHOLDER, &path_segment(order_id))
    }
}

/// A global id (standard base64) as one URL path segment: `/` would split
/// it and `+` reads as a space to form decoders, so both are escaped; `=`
/// may stand in a path as it is.
fn path_segment(id: &str) -> String {
    id.replace('/', "%2F").replace('+', "%2B")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storefront(order_form_url: Option<&str>) -> Storefront {
        Storefront {
            serve: true,
            order_form_url: order_form_url.map(str::to_owned),
        }
    }

    #[test]
    fn by_default_the_storefront_page_under_the_public_base_url() {
        let form = OrderForm::new(&storefront(None), "https://api.example");
        assert_eq!(
            form.url("T3JkZXI6MQ=="),
            "https://api.example/shop/orders/T3JkZXI6MQ=="
        );
    }

    #[test]
    fn a_template_gets_the_id_wherever_it_names_it_as_one_segment() {
        let form = OrderForm::new(
            &storefront(Some("https://shop.example/checkout/{id}?back={id}")),
            "https://api.example",
        );
        assert_eq!(
            form.url("ab/c+d="),
            "https://shop.example/checkout/ab%2Fc%2Bd=?back=ab%2Fc%2Bd="
        );
    }
}
