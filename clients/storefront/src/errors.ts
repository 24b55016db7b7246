// Every refusal in plain words: the UserError codes of mutations and
// quotes (schema.graphql's ErrorCode) and the top-level error codes
// (docs/api.md, "Errors").
import type { ErrorCode } from '../../typescript/src/gql/graphql.js';

const USER_ERRORS: Record<ErrorCode, string> = {
  INVALID_INPUT: 'Something in the request is not valid.',
  PRODUCT_NOT_FOUND: 'A product of this order is no longer sold.',
  PRODUCT_OUT_OF_STOCK: 'There are not enough units in stock.',
  INSUFFICIENT_BALANCE: 'Your balance does not cover this payment. Add money on your account page.',
  ORDER_NOT_FOUND: 'There is no such order among yours.',
  ORDER_ALREADY_PAID: 'This order is already paid. Nothing was charged again.',
  ORDER_CANCELLED: 'This order was cancelled, so it can no longer be paid.',
  COUPON_NOT_FOUND: 'This coupon is not one of yours.',
  COUPON_ALREADY_ISSUED: 'You already hold a coupon of this campaign: one per shopper.',
  COUPON_OUT_OF_STOCK: 'Sold out: every coupon of this campaign has been claimed.',
  COUPON_NOT_USABLE: 'This coupon cannot be used now: it is used, expired or not valid yet.',
  IDEMPOTENCY_KEY_REUSED: 'This request was already sent with other details. Reload the page and try again.',
  CART_EMPTY: 'Your cart is empty.',
  ORDER_NOT_PAID: 'This order is not paid.',
  ORDER_ALREADY_REFUNDED: 'This order was already refunded.',
  ORDER_EXPIRED: 'The time to pay this order has run out. Nothing was charged; order again to buy these items.',
};

/** A business failure (`userErrors[i]`) in plain words. */
export function userErrorText(error: { code: ErrorCode; message: string; field?: string[] | null }): string {
  const plain = USER_ERRORS[error.code] ?? 'The shop refused this request.';
  // The server's message names the product or the limit at fault; it adds what the code cannot.
  if (error.code === 'INVALID_INPUT' || error.code === 'PRODUCT_OUT_OF_STOCK' || error.code === 'PRODUCT_NOT_FOUND') {
    return `${plain} (${error.message})`;
  }
  return plain;
}

const TOP_LEVEL: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your session has ended. Choose a shopper, or reload the page.',
  FORBIDDEN: 'The server does not allow this request.',
  NOT_FOUND: 'There is no such thing here, or it is not yours to see.',
  BAD_REQUEST: 'The server could not read this request.',
  QUERY_TOO_COMPLEX: 'This request asks for too much at once.',
  RATE_LIMITED: 'Too many requests right now. Wait a moment and try again.',
  SERVICE_UNAVAILABLE: 'The shop is busy or briefly unavailable. Try again in a moment.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on our side. Try again; if it persists, tell us.',
  PERSISTED_QUERY_NOT_FOUND: 'The server does not know this request.',
  NETWORK: 'The shop cannot reach the server. Check your connection and try again.',
};

/** A top-level error code (or NETWORK) in plain words. */
export function errorText(code: string | undefined): string {
  return (code && TOP_LEVEL[code]) || 'Something went wrong. Try again.';
}

/** What a failed request throws: a code and its plain words. */
export class ShopError extends Error {
  constructor(
    readonly code: string,
    message = errorText(code),
  ) {
    super(message);
    this.name = 'ShopError';
  }
}

/** Plain words for anything thrown while talking to the server. */
export function describe(error: unknown): string {
  if (error instanceof ShopError) return error.message;
  return errorText(undefined);
}
