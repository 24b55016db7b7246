// Every operation the client knows, as typed documents. `npm run codegen`
// reads this file and generates their types into src/gql/; the manifest of
// their exact texts (src/gql/persisted-documents.json) is what a server with
// TRUSTED_DOCUMENTS runs by hash.
//
// Add an operation here, run `npm run codegen`, commit both.
import { graphql } from './gql/index.js';

export const UserErrorFieldsFragment = graphql(`
  fragment UserErrorFields on UserError {
    code
    field
    message
  }
`);

export const ProductFieldsFragment = graphql(`
  fragment ProductFields on Product {
    id
    name
    description
    price
    stock
    createdAt
  }
`);

export const OrderFieldsFragment = graphql(`
  fragment OrderFields on Order {
    id
    status
    totalAmount
    discountAmount
    payableAmount
    paymentUrl
    createdAt
    paidAt
    cancelledAt
    refundedAt
    expiresAt
    holdsStock
    items {
      product {
        id
        name
      }
      quantity
      unitPrice
      lineTotal
    }
    coupon {
      id
      status
    }
    payment {
      id
      amount
      paidAt
    }
  }
`);

// ---- the caller ----

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      subject
      balance
    }
  }
`);

export const ChargeBalanceMutation = graphql(`
  mutation ChargeBalance($input: ChargeBalanceInput!) {
    chargeBalance(input: $input) {
      user {
        id
        subject
        balance
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

// ---- the catalog ----

export const ProductsQuery = graphql(`
  query Products($first: Int, $after: String) {
    products(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          ...ProductFields
        }
      }
    }
  }
`);

export const ProductQuery = graphql(`
  query Product($id: ID!) {
    product(id: $id) {
      ...ProductFields
    }
  }
`);

// ---- the cart ----

export const AddCartItemMutation = graphql(`
  mutation AddCartItem($input: AddCartItemInput!) {
    addCartItem(input: $input) {
      cart {
        totalQuantity
        subtotal
        items {
          product {
            id
            name
            price
          }
          quantity
          lineTotal
        }
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CartQuery = graphql(`
  query Cart {
    viewer {
      cart {
        totalQuantity
        subtotal
        items {
          product {
            id
            name
            price
          }
          quantity
          lineTotal
        }
      }
    }
  }
`);

// ---- orders ----

export const CreateOrderMutation = graphql(`
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      order {
        ...OrderFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const PayOrderMutation = graphql(`
  mutation PayOrder($input: PayOrderInput!) {
    payOrder(input: $input) {
      order {
        ...OrderFields
      }
      payment {
        id
        amount
        paidAt
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const ViewerOrdersQuery = graphql(`
  query ViewerOrders($first: Int, $after: String, $status: OrderStatus) {
    viewer {
      orders(first: $first, after: $after, status: $status) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          cursor
          node {
            id
            status
            totalAmount
            payableAmount
            createdAt
            paidAt
          }
        }
      }
    }
  }
`);

// ---- coupons ----

export const CouponsQuery = graphql(`
  query Coupons($first: Int, $availableOnly: Boolean) {
    coupons(first: $first, availableOnly: $availableOnly) {
      totalCount
      nodes {
        id
        name
        discountType
        discountValue
        totalQuantity
        issuedQuantity
        remainingQuantity
        validFrom
        validUntil
      }
    }
  }
`);

export const IssueCouponMutation = graphql(`
  mutation IssueCoupon($input: IssueCouponInput!) {
    issueCoupon(input: $input) {
      userCoupon {
        id
        status
        issuedAt
        coupon {
          id
          name
          discountType
          discountValue
        }
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const ViewerCouponsQuery = graphql(`
  query ViewerCoupons($first: Int, $status: UserCouponStatus) {
    viewer {
      coupons(first: $first, status: $status) {
        totalCount
        nodes {
          id
          status
          issuedAt
          usedAt
          coupon {
            id
            name
            discountType
            discountValue
          }
          order {
            id
          }
        }
      }
    }
  }
`);

// ---- admin ----

export const CreateProductMutation = graphql(`
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      product {
        ...ProductFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AdjustStockMutation = graphql(`
  mutation AdjustStock($input: AdjustStockInput!) {
    adjustStock(input: $input) {
      product {
        ...ProductFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CreateCouponMutation = graphql(`
  mutation CreateCoupon($input: CreateCouponInput!) {
    createCoupon(input: $input) {
      coupon {
        id
        name
        discountType
        discountValue
        totalQuantity
        issuedQuantity
        remainingQuantity
        validFrom
        validUntil
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

// ---- subscriptions (graphql-ws, see README) ----

export const OrderUpdatedSubscription = graphql(`
  subscription OrderUpdated($orderId: ID!) {
    orderUpdated(orderId: $orderId) {
      id
      status
      payableAmount
      paidAt
    }
  }
`);

export const CouponUpdatedSubscription = graphql(`
  subscription CouponUpdated($couponId: ID!) {
    couponUpdated(couponId: $couponId) {
      ...CouponFields
    }
  }
`);

// ---- the storefront (clients/storefront) ----
//
// What its pages read and write, beyond the operations above. A server
// with TRUSTED_DOCUMENTS_ONLY and this package's manifest serves it.

export const CouponFieldsFragment = graphql(`
  fragment CouponFields on Coupon {
    id
    name
    discountType
    discountValue
    totalQuantity
    issuedQuantity
    remainingQuantity
    validFrom
    validUntil
  }
`);

export const CartFieldsFragment = graphql(`
  fragment CartFields on Cart {
    totalQuantity
    subtotal
    items {
      product {
        id
        name
        price
        stock
        archivedAt
      }
      quantity
      lineTotal
    }
  }
`);

/** The header: who is shopping, their balance and how full the cart is. */
export const ShopperQuery = graphql(`
  query Shopper {
    viewer {
      id
      subject
      balance
      cart {
        totalQuantity
      }
    }
  }
`);

/** The catalog page: search, sort, the in-stock filter, pages both ways. */
export const CatalogQuery = graphql(`
  query Catalog(
    $first: Int
    $after: String
    $last: Int
    $before: String
    $search: String
    $inStockOnly: Boolean
    $orderBy: ProductOrder
  ) {
    products(
      first: $first
      after: $after
      last: $last
      before: $before
      search: $search
      inStockOnly: $inStockOnly
      orderBy: $orderBy
    ) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      nodes {
        ...ProductFields
      }
    }
  }
`);

/** A product's page. */
export const ProductPageQuery = graphql(`
  query ProductPage($id: ID!) {
    product(id: $id) {
      ...ProductFields
      heldStock
      archivedAt
    }
  }
`);

export const ShopCartQuery = graphql(`
  query ShopCart {
    viewer {
      id
      balance
      cart {
        ...CartFields
      }
    }
  }
`);

export const AddToCartMutation = graphql(`
  mutation AddToCart($input: AddCartItemInput!) {
    addCartItem(input: $input) {
      cart {
        ...CartFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const UpdateCartItemMutation = graphql(`
  mutation UpdateCartItem($input: UpdateCartItemInput!) {
    updateCartItem(input: $input) {
      cart {
        ...CartFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RemoveCartItemMutation = graphql(`
  mutation RemoveCartItem($input: RemoveCartItemInput!) {
    removeCartItem(input: $input) {
      cart {
        ...CartFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CreateOrderFromCartMutation = graphql(`
  mutation CreateOrderFromCart($input: CreateOrderFromCartInput!) {
    createOrderFromCart(input: $input) {
      order {
        ...OrderFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

/**
 * The order form page: the order, what paying it now would come to without
 * a coupon, the caller's balance and usable coupons.
 */
export const OrderPageQuery = graphql(`
  query OrderPage($id: ID!) {
    order(id: $id) {
      ...OrderFields
      quote {
        totalAmount
        discountAmount
        payableAmount
        userErrors {
          ...UserErrorFields
        }
      }
    }
    viewer {
      id
      balance
      coupons(first: 100, status: AVAILABLE) {
        nodes {
          id
          status
          coupon {
            ...CouponFields
          }
        }
      }
    }
  }
`);

/** What paying an order with one issued coupon would come to. */
export const QuoteQuery = graphql(`
  query Quote($id: ID!, $userCouponId: ID) {
    order(id: $id) {
      id
      status
      quote(userCouponId: $userCouponId) {
        totalAmount
        discountAmount
        payableAmount
        userErrors {
          ...UserErrorFields
        }
      }
    }
  }
`);

export const CancelOrderMutation = graphql(`
  mutation CancelOrder($input: CancelOrderInput!) {
    cancelOrder(input: $input) {
      order {
        ...OrderFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

/** The order form page's live status (its current state first). */
export const OrderLiveSubscription = graphql(`
  subscription OrderLive($orderId: ID!) {
    orderUpdated(orderId: $orderId) {
      ...OrderFields
    }
  }
`);

/** The account page: balance and orders, newest first. */
export const MyOrdersQuery = graphql(`
  query MyOrders($first: Int, $after: String, $status: OrderStatus) {
    viewer {
      id
      subject
      balance
      orders(first: $first, after: $after, status: $status) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          status
          totalAmount
          discountAmount
          payableAmount
          createdAt
          paidAt
          expiresAt
          items {
            quantity
            product {
              id
              name
            }
          }
        }
      }
    }
  }
`);

/** The account page: every change to the balance, newest first. */
export const BalanceHistoryQuery = graphql(`
  query BalanceHistory($first: Int, $after: String) {
    viewer {
      id
      balance
      balanceHistory(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          kind
          amount
          createdAt
          order {
            id
          }
        }
      }
    }
  }
`);

/** The campaigns page: every campaign, newest first, and the caller's coupons. */
export const CampaignsQuery = graphql(`
  query Campaigns($first: Int, $after: String, $availableOnly: Boolean) {
    coupons(first: $first, after: $after, availableOnly: $availableOnly) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...CouponFields
      }
    }
  }
`);

/** A campaign's page (public: whether the caller holds one is ViewerCoupons). */
export const CampaignQuery = graphql(`
  query Campaign($id: ID!) {
    coupon(id: $id) {
      ...CouponFields
    }
  }
`);

export const ClaimCouponMutation = graphql(`
  mutation ClaimCoupon($input: IssueCouponInput!) {
    issueCoupon(input: $input) {
      userCoupon {
        id
        status
        issuedAt
        usedAt
        coupon {
          ...CouponFields
        }
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);
