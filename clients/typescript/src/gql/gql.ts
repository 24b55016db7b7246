/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment UserErrorFields on UserError {\n    code\n    field\n    message\n  }\n": typeof types.UserErrorFieldsFragmentDoc,
    "\n  fragment ProductFields on Product {\n    id\n    name\n    description\n    price\n    stock\n    createdAt\n  }\n": typeof types.ProductFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    status\n    totalAmount\n    discountAmount\n    payableAmount\n    paymentUrl\n    createdAt\n    paidAt\n    cancelledAt\n    refundedAt\n    expiresAt\n    holdsStock\n    items {\n      product {\n        id\n        name\n      }\n      quantity\n      unitPrice\n      lineTotal\n    }\n    coupon {\n      id\n      status\n    }\n    payment {\n      id\n      amount\n      paidAt\n    }\n  }\n": typeof types.OrderFieldsFragmentDoc,
    "\n  query Viewer {\n    viewer {\n      id\n      subject\n      balance\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  mutation ChargeBalance($input: ChargeBalanceInput!) {\n    chargeBalance(input: $input) {\n      user {\n        id\n        subject\n        balance\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.ChargeBalanceDocument,
    "\n  query Products($first: Int, $after: String) {\n    products(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...ProductFields\n        }\n      }\n    }\n  }\n": typeof types.ProductsDocument,
    "\n  query Product($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n    }\n  }\n": typeof types.ProductDocument,
    "\n  mutation AddCartItem($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.AddCartItemDocument,
    "\n  query Cart {\n    viewer {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n    }\n  }\n": typeof types.CartDocument,
    "\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.CreateOrderDocument,
    "\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      payment {\n        id\n        amount\n        paidAt\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.PayOrderDocument,
    "\n  query ViewerOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          cursor\n          node {\n            id\n            status\n            totalAmount\n            payableAmount\n            createdAt\n            paidAt\n          }\n        }\n      }\n    }\n  }\n": typeof types.ViewerOrdersDocument,
    "\n  query Coupons($first: Int, $availableOnly: Boolean) {\n    coupons(first: $first, availableOnly: $availableOnly) {\n      totalCount\n      nodes {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n    }\n  }\n": typeof types.CouponsDocument,
    "\n  mutation IssueCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        coupon {\n          id\n          name\n          discountType\n          discountValue\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.IssueCouponDocument,
    "\n  query ViewerCoupons($first: Int, $status: UserCouponStatus) {\n    viewer {\n      coupons(first: $first, status: $status) {\n        totalCount\n        nodes {\n          id\n          status\n          issuedAt\n          usedAt\n          coupon {\n            id\n            name\n            discountType\n            discountValue\n          }\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n": typeof types.ViewerCouponsDocument,
    "\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.CreateProductDocument,
    "\n  mutation AdjustStock($input: AdjustStockInput!) {\n    adjustStock(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.AdjustStockDocument,
    "\n  mutation CreateCoupon($input: CreateCouponInput!) {\n    createCoupon(input: $input) {\n      coupon {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.CreateCouponDocument,
    "\n  subscription OrderUpdated($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      id\n      status\n      payableAmount\n      paidAt\n    }\n  }\n": typeof types.OrderUpdatedDocument,
    "\n  subscription CouponUpdated($couponId: ID!) {\n    couponUpdated(couponId: $couponId) {\n      ...CouponFields\n    }\n  }\n": typeof types.CouponUpdatedDocument,
    "\n  fragment CouponFields on Coupon {\n    id\n    name\n    discountType\n    discountValue\n    totalQuantity\n    issuedQuantity\n    remainingQuantity\n    validFrom\n    validUntil\n  }\n": typeof types.CouponFieldsFragmentDoc,
    "\n  fragment CartFields on Cart {\n    totalQuantity\n    subtotal\n    items {\n      product {\n        id\n        name\n        price\n        stock\n        archivedAt\n      }\n      quantity\n      lineTotal\n    }\n  }\n": typeof types.CartFieldsFragmentDoc,
    "\n  query Shopper {\n    viewer {\n      id\n      subject\n      balance\n      cart {\n        totalQuantity\n      }\n    }\n  }\n": typeof types.ShopperDocument,
    "\n  query Catalog(\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n    $search: String\n    $inStockOnly: Boolean\n    $orderBy: ProductOrder\n  ) {\n    products(\n      first: $first\n      after: $after\n      last: $last\n      before: $before\n      search: $search\n      inStockOnly: $inStockOnly\n      orderBy: $orderBy\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      nodes {\n        ...ProductFields\n      }\n    }\n  }\n": typeof types.CatalogDocument,
    "\n  query ProductPage($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n      heldStock\n      archivedAt\n    }\n  }\n": typeof types.ProductPageDocument,
    "\n  query ShopCart {\n    viewer {\n      id\n      balance\n      cart {\n        ...CartFields\n      }\n    }\n  }\n": typeof types.ShopCartDocument,
    "\n  mutation AddToCart($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.AddToCartDocument,
    "\n  mutation UpdateCartItem($input: UpdateCartItemInput!) {\n    updateCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.UpdateCartItemDocument,
    "\n  mutation RemoveCartItem($input: RemoveCartItemInput!) {\n    removeCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.RemoveCartItemDocument,
    "\n  mutation CreateOrderFromCart($input: CreateOrderFromCartInput!) {\n    createOrderFromCart(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.CreateOrderFromCartDocument,
    "\n  query OrderPage($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n      quote {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n    viewer {\n      id\n      balance\n      coupons(first: 100, status: AVAILABLE) {\n        nodes {\n          id\n          status\n          coupon {\n            ...CouponFields\n          }\n        }\n      }\n    }\n  }\n": typeof types.OrderPageDocument,
    "\n  query Quote($id: ID!, $userCouponId: ID) {\n    order(id: $id) {\n      id\n      status\n      quote(userCouponId: $userCouponId) {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n  }\n": typeof types.QuoteDocument,
    "\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.CancelOrderDocument,
    "\n  subscription OrderLive($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...OrderFields\n    }\n  }\n": typeof types.OrderLiveDocument,
    "\n  query MyOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      id\n      subject\n      balance\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          status\n          totalAmount\n          discountAmount\n          payableAmount\n          createdAt\n          paidAt\n          expiresAt\n          items {\n            quantity\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.MyOrdersDocument,
    "\n  query BalanceHistory($first: Int, $after: String) {\n    viewer {\n      id\n      balance\n      balanceHistory(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          kind\n          amount\n          createdAt\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n": typeof types.BalanceHistoryDocument,
    "\n  query Campaigns($first: Int, $after: String, $availableOnly: Boolean) {\n    coupons(first: $first, after: $after, availableOnly: $availableOnly) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...CouponFields\n      }\n    }\n  }\n": typeof types.CampaignsDocument,
    "\n  query Campaign($id: ID!) {\n    coupon(id: $id) {\n      ...CouponFields\n    }\n  }\n": typeof types.CampaignDocument,
    "\n  mutation ClaimCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        usedAt\n        coupon {\n          ...CouponFields\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": typeof types.ClaimCouponDocument,
};
const documents: Documents = {
    "\n  fragment UserErrorFields on UserError {\n    code\n    field\n    message\n  }\n": types.UserErrorFieldsFragmentDoc,
    "\n  fragment ProductFields on Product {\n    id\n    name\n    description\n    price\n    stock\n    createdAt\n  }\n": types.ProductFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    status\n    totalAmount\n    discountAmount\n    payableAmount\n    paymentUrl\n    createdAt\n    paidAt\n    cancelledAt\n    refundedAt\n    expiresAt\n    holdsStock\n    items {\n      product {\n        id\n        name\n      }\n      quantity\n      unitPrice\n      lineTotal\n    }\n    coupon {\n      id\n      status\n    }\n    payment {\n      id\n      amount\n      paidAt\n    }\n  }\n": types.OrderFieldsFragmentDoc,
    "\n  query Viewer {\n    viewer {\n      id\n      subject\n      balance\n    }\n  }\n": types.ViewerDocument,
    "\n  mutation ChargeBalance($input: ChargeBalanceInput!) {\n    chargeBalance(input: $input) {\n      user {\n        id\n        subject\n        balance\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.ChargeBalanceDocument,
    "\n  query Products($first: Int, $after: String) {\n    products(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...ProductFields\n        }\n      }\n    }\n  }\n": types.ProductsDocument,
    "\n  query Product($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n    }\n  }\n": types.ProductDocument,
    "\n  mutation AddCartItem($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.AddCartItemDocument,
    "\n  query Cart {\n    viewer {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n    }\n  }\n": types.CartDocument,
    "\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.CreateOrderDocument,
    "\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      payment {\n        id\n        amount\n        paidAt\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.PayOrderDocument,
    "\n  query ViewerOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          cursor\n          node {\n            id\n            status\n            totalAmount\n            payableAmount\n            createdAt\n            paidAt\n          }\n        }\n      }\n    }\n  }\n": types.ViewerOrdersDocument,
    "\n  query Coupons($first: Int, $availableOnly: Boolean) {\n    coupons(first: $first, availableOnly: $availableOnly) {\n      totalCount\n      nodes {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n    }\n  }\n": types.CouponsDocument,
    "\n  mutation IssueCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        coupon {\n          id\n          name\n          discountType\n          discountValue\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.IssueCouponDocument,
    "\n  query ViewerCoupons($first: Int, $status: UserCouponStatus) {\n    viewer {\n      coupons(first: $first, status: $status) {\n        totalCount\n        nodes {\n          id\n          status\n          issuedAt\n          usedAt\n          coupon {\n            id\n            name\n            discountType\n            discountValue\n          }\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n": types.ViewerCouponsDocument,
    "\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.CreateProductDocument,
    "\n  mutation AdjustStock($input: AdjustStockInput!) {\n    adjustStock(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.AdjustStockDocument,
    "\n  mutation CreateCoupon($input: CreateCouponInput!) {\n    createCoupon(input: $input) {\n      coupon {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.CreateCouponDocument,
    "\n  subscription OrderUpdated($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      id\n      status\n      payableAmount\n      paidAt\n    }\n  }\n": types.OrderUpdatedDocument,
    "\n  subscription CouponUpdated($couponId: ID!) {\n    couponUpdated(couponId: $couponId) {\n      ...CouponFields\n    }\n  }\n": types.CouponUpdatedDocument,
    "\n  fragment CouponFields on Coupon {\n    id\n    name\n    discountType\n    discountValue\n    totalQuantity\n    issuedQuantity\n    remainingQuantity\n    validFrom\n    validUntil\n  }\n": types.CouponFieldsFragmentDoc,
    "\n  fragment CartFields on Cart {\n    totalQuantity\n    subtotal\n    items {\n      product {\n        id\n        name\n        price\n        stock\n        archivedAt\n      }\n      quantity\n      lineTotal\n    }\n  }\n": types.CartFieldsFragmentDoc,
    "\n  query Shopper {\n    viewer {\n      id\n      subject\n      balance\n      cart {\n        totalQuantity\n      }\n    }\n  }\n": types.ShopperDocument,
    "\n  query Catalog(\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n    $search: String\n    $inStockOnly: Boolean\n    $orderBy: ProductOrder\n  ) {\n    products(\n      first: $first\n      after: $after\n      last: $last\n      before: $before\n      search: $search\n      inStockOnly: $inStockOnly\n      orderBy: $orderBy\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      nodes {\n        ...ProductFields\n      }\n    }\n  }\n": types.CatalogDocument,
    "\n  query ProductPage($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n      heldStock\n      archivedAt\n    }\n  }\n": types.ProductPageDocument,
    "\n  query ShopCart {\n    viewer {\n      id\n      balance\n      cart {\n        ...CartFields\n      }\n    }\n  }\n": types.ShopCartDocument,
    "\n  mutation AddToCart($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.AddToCartDocument,
    "\n  mutation UpdateCartItem($input: UpdateCartItemInput!) {\n    updateCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.UpdateCartItemDocument,
    "\n  mutation RemoveCartItem($input: RemoveCartItemInput!) {\n    removeCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.RemoveCartItemDocument,
    "\n  mutation CreateOrderFromCart($input: CreateOrderFromCartInput!) {\n    createOrderFromCart(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.CreateOrderFromCartDocument,
    "\n  query OrderPage($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n      quote {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n    viewer {\n      id\n      balance\n      coupons(first: 100, status: AVAILABLE) {\n        nodes {\n          id\n          status\n          coupon {\n            ...CouponFields\n          }\n        }\n      }\n    }\n  }\n": types.OrderPageDocument,
    "\n  query Quote($id: ID!, $userCouponId: ID) {\n    order(id: $id) {\n      id\n      status\n      quote(userCouponId: $userCouponId) {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n  }\n": types.QuoteDocument,
    "\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.CancelOrderDocument,
    "\n  subscription OrderLive($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...OrderFields\n    }\n  }\n": types.OrderLiveDocument,
    "\n  query MyOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      id\n      subject\n      balance\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          status\n          totalAmount\n          discountAmount\n          payableAmount\n          createdAt\n          paidAt\n          expiresAt\n          items {\n            quantity\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": types.MyOrdersDocument,
    "\n  query BalanceHistory($first: Int, $after: String) {\n    viewer {\n      id\n      balance\n      balanceHistory(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          kind\n          amount\n          createdAt\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n": types.BalanceHistoryDocument,
    "\n  query Campaigns($first: Int, $after: String, $availableOnly: Boolean) {\n    coupons(first: $first, after: $after, availableOnly: $availableOnly) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...CouponFields\n      }\n    }\n  }\n": types.CampaignsDocument,
    "\n  query Campaign($id: ID!) {\n    coupon(id: $id) {\n      ...CouponFields\n    }\n  }\n": types.CampaignDocument,
    "\n  mutation ClaimCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        usedAt\n        coupon {\n          ...CouponFields\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n": types.ClaimCouponDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UserErrorFields on UserError {\n    code\n    field\n    message\n  }\n"): (typeof documents)["\n  fragment UserErrorFields on UserError {\n    code\n    field\n    message\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProductFields on Product {\n    id\n    name\n    description\n    price\n    stock\n    createdAt\n  }\n"): (typeof documents)["\n  fragment ProductFields on Product {\n    id\n    name\n    description\n    price\n    stock\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OrderFields on Order {\n    id\n    status\n    totalAmount\n    discountAmount\n    payableAmount\n    paymentUrl\n    createdAt\n    paidAt\n    cancelledAt\n    refundedAt\n    expiresAt\n    holdsStock\n    items {\n      product {\n        id\n        name\n      }\n      quantity\n      unitPrice\n      lineTotal\n    }\n    coupon {\n      id\n      status\n    }\n    payment {\n      id\n      amount\n      paidAt\n    }\n  }\n"): (typeof documents)["\n  fragment OrderFields on Order {\n    id\n    status\n    totalAmount\n    discountAmount\n    payableAmount\n    paymentUrl\n    createdAt\n    paidAt\n    cancelledAt\n    refundedAt\n    expiresAt\n    holdsStock\n    items {\n      product {\n        id\n        name\n      }\n      quantity\n      unitPrice\n      lineTotal\n    }\n    coupon {\n      id\n      status\n    }\n    payment {\n      id\n      amount\n      paidAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      id\n      subject\n      balance\n    }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer {\n      id\n      subject\n      balance\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChargeBalance($input: ChargeBalanceInput!) {\n    chargeBalance(input: $input) {\n      user {\n        id\n        subject\n        balance\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ChargeBalance($input: ChargeBalanceInput!) {\n    chargeBalance(input: $input) {\n      user {\n        id\n        subject\n        balance\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Products($first: Int, $after: String) {\n    products(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...ProductFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Products($first: Int, $after: String) {\n    products(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...ProductFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Product($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n    }\n  }\n"): (typeof documents)["\n  query Product($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddCartItem($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AddCartItem($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Cart {\n    viewer {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Cart {\n    viewer {\n      cart {\n        totalQuantity\n        subtotal\n        items {\n          product {\n            id\n            name\n            price\n          }\n          quantity\n          lineTotal\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      payment {\n        id\n        amount\n        paidAt\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      payment {\n        id\n        amount\n        paidAt\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ViewerOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          cursor\n          node {\n            id\n            status\n            totalAmount\n            payableAmount\n            createdAt\n            paidAt\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ViewerOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          cursor\n          node {\n            id\n            status\n            totalAmount\n            payableAmount\n            createdAt\n            paidAt\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Coupons($first: Int, $availableOnly: Boolean) {\n    coupons(first: $first, availableOnly: $availableOnly) {\n      totalCount\n      nodes {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n    }\n  }\n"): (typeof documents)["\n  query Coupons($first: Int, $availableOnly: Boolean) {\n    coupons(first: $first, availableOnly: $availableOnly) {\n      totalCount\n      nodes {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation IssueCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        coupon {\n          id\n          name\n          discountType\n          discountValue\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation IssueCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        coupon {\n          id\n          name\n          discountType\n          discountValue\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ViewerCoupons($first: Int, $status: UserCouponStatus) {\n    viewer {\n      coupons(first: $first, status: $status) {\n        totalCount\n        nodes {\n          id\n          status\n          issuedAt\n          usedAt\n          coupon {\n            id\n            name\n            discountType\n            discountValue\n          }\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ViewerCoupons($first: Int, $status: UserCouponStatus) {\n    viewer {\n      coupons(first: $first, status: $status) {\n        totalCount\n        nodes {\n          id\n          status\n          issuedAt\n          usedAt\n          coupon {\n            id\n            name\n            discountType\n            discountValue\n          }\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdjustStock($input: AdjustStockInput!) {\n    adjustStock(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AdjustStock($input: AdjustStockInput!) {\n    adjustStock(input: $input) {\n      product {\n        ...ProductFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCoupon($input: CreateCouponInput!) {\n    createCoupon(input: $input) {\n      coupon {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateCoupon($input: CreateCouponInput!) {\n    createCoupon(input: $input) {\n      coupon {\n        id\n        name\n        discountType\n        discountValue\n        totalQuantity\n        issuedQuantity\n        remainingQuantity\n        validFrom\n        validUntil\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderUpdated($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      id\n      status\n      payableAmount\n      paidAt\n    }\n  }\n"): (typeof documents)["\n  subscription OrderUpdated($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      id\n      status\n      payableAmount\n      paidAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CouponUpdated($couponId: ID!) {\n    couponUpdated(couponId: $couponId) {\n      ...CouponFields\n    }\n  }\n"): (typeof documents)["\n  subscription CouponUpdated($couponId: ID!) {\n    couponUpdated(couponId: $couponId) {\n      ...CouponFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CouponFields on Coupon {\n    id\n    name\n    discountType\n    discountValue\n    totalQuantity\n    issuedQuantity\n    remainingQuantity\n    validFrom\n    validUntil\n  }\n"): (typeof documents)["\n  fragment CouponFields on Coupon {\n    id\n    name\n    discountType\n    discountValue\n    totalQuantity\n    issuedQuantity\n    remainingQuantity\n    validFrom\n    validUntil\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CartFields on Cart {\n    totalQuantity\n    subtotal\n    items {\n      product {\n        id\n        name\n        price\n        stock\n        archivedAt\n      }\n      quantity\n      lineTotal\n    }\n  }\n"): (typeof documents)["\n  fragment CartFields on Cart {\n    totalQuantity\n    subtotal\n    items {\n      product {\n        id\n        name\n        price\n        stock\n        archivedAt\n      }\n      quantity\n      lineTotal\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Shopper {\n    viewer {\n      id\n      subject\n      balance\n      cart {\n        totalQuantity\n      }\n    }\n  }\n"): (typeof documents)["\n  query Shopper {\n    viewer {\n      id\n      subject\n      balance\n      cart {\n        totalQuantity\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Catalog(\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n    $search: String\n    $inStockOnly: Boolean\n    $orderBy: ProductOrder\n  ) {\n    products(\n      first: $first\n      after: $after\n      last: $last\n      before: $before\n      search: $search\n      inStockOnly: $inStockOnly\n      orderBy: $orderBy\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      nodes {\n        ...ProductFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query Catalog(\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n    $search: String\n    $inStockOnly: Boolean\n    $orderBy: ProductOrder\n  ) {\n    products(\n      first: $first\n      after: $after\n      last: $last\n      before: $before\n      search: $search\n      inStockOnly: $inStockOnly\n      orderBy: $orderBy\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      nodes {\n        ...ProductFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProductPage($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n      heldStock\n      archivedAt\n    }\n  }\n"): (typeof documents)["\n  query ProductPage($id: ID!) {\n    product(id: $id) {\n      ...ProductFields\n      heldStock\n      archivedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ShopCart {\n    viewer {\n      id\n      balance\n      cart {\n        ...CartFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query ShopCart {\n    viewer {\n      id\n      balance\n      cart {\n        ...CartFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddToCart($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AddToCart($input: AddCartItemInput!) {\n    addCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateCartItem($input: UpdateCartItemInput!) {\n    updateCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateCartItem($input: UpdateCartItemInput!) {\n    updateCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveCartItem($input: RemoveCartItemInput!) {\n    removeCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveCartItem($input: RemoveCartItemInput!) {\n    removeCartItem(input: $input) {\n      cart {\n        ...CartFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrderFromCart($input: CreateOrderFromCartInput!) {\n    createOrderFromCart(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrderFromCart($input: CreateOrderFromCartInput!) {\n    createOrderFromCart(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OrderPage($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n      quote {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n    viewer {\n      id\n      balance\n      coupons(first: 100, status: AVAILABLE) {\n        nodes {\n          id\n          status\n          coupon {\n            ...CouponFields\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query OrderPage($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n      quote {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n    viewer {\n      id\n      balance\n      coupons(first: 100, status: AVAILABLE) {\n        nodes {\n          id\n          status\n          coupon {\n            ...CouponFields\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Quote($id: ID!, $userCouponId: ID) {\n    order(id: $id) {\n      id\n      status\n      quote(userCouponId: $userCouponId) {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Quote($id: ID!, $userCouponId: ID) {\n    order(id: $id) {\n      id\n      status\n      quote(userCouponId: $userCouponId) {\n        totalAmount\n        discountAmount\n        payableAmount\n        userErrors {\n          ...UserErrorFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) {\n      order {\n        ...OrderFields\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderLive($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  subscription OrderLive($orderId: ID!) {\n    orderUpdated(orderId: $orderId) {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      id\n      subject\n      balance\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          status\n          totalAmount\n          discountAmount\n          payableAmount\n          createdAt\n          paidAt\n          expiresAt\n          items {\n            quantity\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MyOrders($first: Int, $after: String, $status: OrderStatus) {\n    viewer {\n      id\n      subject\n      balance\n      orders(first: $first, after: $after, status: $status) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          status\n          totalAmount\n          discountAmount\n          payableAmount\n          createdAt\n          paidAt\n          expiresAt\n          items {\n            quantity\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BalanceHistory($first: Int, $after: String) {\n    viewer {\n      id\n      balance\n      balanceHistory(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          kind\n          amount\n          createdAt\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query BalanceHistory($first: Int, $after: String) {\n    viewer {\n      id\n      balance\n      balanceHistory(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          kind\n          amount\n          createdAt\n          order {\n            id\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Campaigns($first: Int, $after: String, $availableOnly: Boolean) {\n    coupons(first: $first, after: $after, availableOnly: $availableOnly) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...CouponFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query Campaigns($first: Int, $after: String, $availableOnly: Boolean) {\n    coupons(first: $first, after: $after, availableOnly: $availableOnly) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...CouponFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Campaign($id: ID!) {\n    coupon(id: $id) {\n      ...CouponFields\n    }\n  }\n"): (typeof documents)["\n  query Campaign($id: ID!) {\n    coupon(id: $id) {\n      ...CouponFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ClaimCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        usedAt\n        coupon {\n          ...CouponFields\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ClaimCoupon($input: IssueCouponInput!) {\n    issueCoupon(input: $input) {\n      userCoupon {\n        id\n        status\n        issuedAt\n        usedAt\n        coupon {\n          ...CouponFields\n        }\n      }\n      userErrors {\n        ...UserErrorFields\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;