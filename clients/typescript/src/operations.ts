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
