// The order form page, at the order's URL (Order.paymentUrl,
// /shop/orders/<id>): its lines and totals; while PENDING, the time left
// before expiresAt, the shopper's usable coupons each with its quote (what
// paying with it would come to), the balance, Pay and Cancel; the outcome
// live from orderUpdated (PAID, EXPIRED, CANCELLED, REFUNDED), read again
// whenever the socket comes back; every refusal in plain words.
import { request } from '../api.js';
import { announce, h, loading, notice, replace } from '../dom.js';
import { describe, userErrorText } from '../errors.js';
import { dateTime, discount, duration, durationWords, money, shortId, time, timeElement } from '../format.js';
import { refreshHeader } from '../header.js';
import { stateText, watch } from '../live.js';
import { path, type PageContext } from '../router.js';
import { loadFailed, requireShopper, userErrors } from './common.js';
import {
  CancelOrderMutation,
  OrderLiveSubscription,
  OrderPageQuery,
  PayOrderMutation,
  QuoteQuery,
} from '../../../typescript/src/operations.js';
import type { OrderFieldsFragment, OrderPageQuery as OrderPageData } from '../../../typescript/src/gql/graphql.js';

type Quote = NonNullable<OrderPageData['order']>['quote'];
type Coupon = OrderPageData['viewer']['coupons']['nodes'][number];

/** What a shopper sees of each status, once the order is no longer PENDING. */
function finalWords(order: OrderFieldsFragment): { title: string; text: string; kind: 'success' | 'info' | 'warning' } {
  switch (order.status) {
    case 'PAID':
      return {
        title: 'Paid',
        text: `Paid on ${dateTime(order.paidAt)}: ${money(order.payableAmount)} was taken from your balance. Thank you!`,
        kind: 'success',
      };
    case 'EXPIRED':
      return {
        title: 'Expired',
        text: `The time to pay ran out${order.expiresAt ? ` at ${time(order.expiresAt)}` : ''}. Nothing was charged${order.holdsStock ? ', and the items held for you went back on sale' : ''}. Order again to buy them.`,
        kind: 'warning',
      };
    case 'CANCELLED':
      return { title: 'Cancelled', text: `Cancelled on ${dateTime(order.cancelledAt)}. Nothing was charged.`, kind: 'info' };
    case 'REFUNDED':
      return {
        title: 'Refunded',
        text: `Refunded on ${dateTime(order.refundedAt)}: ${money(order.payableAmount)} went back to your balance.`,
        kind: 'info',
      };
    default:
      return { title: 'Waiting for payment', text: '', kind: 'info' };
  }
}

const STATUS_LABEL: Record<string, string> = {
  PENDING: 'Waiting for payment',
  PAID: 'Paid',
  EXPIRED: 'Expired',
  CANCELLED: 'Cancelled',
  REFUNDED: 'Refunded',
};

export async function orderPage(context: PageContext): Promise<void> {
  const { main, signal } = context;
  const [orderId = ''] = context.params;
  context.title(`Order ${shortId(orderId)}`);
  if (!requireShopper(main, 'Order')) return;

  let order: OrderFieldsFragment | null = null;
  let baseQuote: Quote | null = null;
  let coupons: Coupon[] = [];
  let balance = '0';
  const quotes = new Map<string, Quote | string>();
  let selected = '';
  let paying = false;

  const status = h('p', { class: 'badge', 'data-testid': 'order-status' });
  const statusRegion = h('div', { role: 'status', 'aria-live': 'polite', class: 'order-status' }, 'Status: ', status);
  const liveState = h('span', { 'data-testid': 'live-state' }, stateText('connecting'));
  const outcome = h('div', { class: 'outcome', 'data-testid': 'pay-outcome' });
  const lines = h('section', { 'aria-labelledby': 'lines-heading' });
  const pay = h('section', { 'aria-labelledby': 'pay-heading', class: 'pay' });
  const body = h('div', { class: 'order-body' }, lines, pay);
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: path('account') }, '← My orders')),
    h('h1', null, `Order ${shortId(orderId)}`),
    statusRegion,
    h('p', { class: 'hint live' }, 'Updates: ', liveState),
    outcome,
    body,
  );

  // ---- the countdown ----
  const countdown = h('span', { 'data-testid': 'countdown' });
  const countdownWords = h('span', { class: 'sr-only' });
  let timer = 0;
  let expiredRead = false;
  const stopTimer = () => window.clearInterval(timer);
  context.onLeave(stopTimer);
  const tick = () => {
    if (!order?.expiresAt || order.status !== 'PENDING') return stopTimer();
    const left = new Date(order.expiresAt).getTime() - Date.now();
    countdown.textContent = duration(left);
    countdownWords.textContent = durationWords(left);
    const seconds = Math.ceil(left / 1000);
    if (seconds === 300 || seconds === 60 || seconds === 10) announce(`${durationWords(left)} left to pay.`);
    if (left <= 0) {
      countdown.textContent = '0:00';
      stopTimer();
      for (const button of pay.querySelectorAll('button')) button.disabled = true;
      if (!expiredRead) {
        expiredRead = true;
        announce('The time to pay has run out.');
        // The server says EXPIRED from the first moment after expiresAt; the sweep tells the subscription later.
        window.setTimeout(() => void load(), 500);
      }
    }
  };

  // ---- drawing ----
  const drawStatus = () => {
    if (!order) return;
    status.textContent = STATUS_LABEL[order.status] ?? order.status;
    status.className = `badge ${order.status.toLowerCase()}`;
    status.dataset.status = order.status;
  };

  const drawLines = () => {
    if (!order) return;
    const discounted = order.discountAmount !== '0';
    replace(
      lines,
      h('h2', { id: 'lines-heading' }, 'What you ordered'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'lines', 'data-testid': 'order-lines' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Product'),
              h('th', { scope: 'col', class: 'num' }, 'Unit price'),
              h('th', { scope: 'col', class: 'num' }, 'Quantity'),
              h('th', { scope: 'col', class: 'num' }, 'Total'),
            ),
          ),
          h(
            'tbody',
            null,
            order.items.map((item) =>
              h(
                'tr',
                null,
                h('th', { scope: 'row' }, h('a', { href: path('products', item.product.id) }, item.product.name)),
                h('td', { class: 'num' }, money(item.unitPrice)),
                h('td', { class: 'num' }, String(item.quantity)),
                h('td', { class: 'num' }, money(item.lineTotal)),
              ),
            ),
          ),
          h(
            'tfoot',
            null,
            h('tr', null, h('th', { scope: 'row', colspan: 3 }, 'Total'), h('td', { class: 'num', 'data-testid': 'order-total' }, money(order.totalAmount))),
            discounted
              ? h('tr', null, h('th', { scope: 'row', colspan: 3 }, 'Coupon discount'), h('td', { class: 'num' }, `−${money(order.discountAmount)}`))
              : null,
            order.status !== 'PENDING'
              ? h('tr', { class: 'grand' }, h('th', { scope: 'row', colspan: 3 }, order.status === 'PAID' || order.status === 'REFUNDED' ? 'Paid' : 'To pay'), h('td', { class: 'num', 'data-testid': 'order-payable' }, money(order.payableAmount)))
              : null,
          ),
        ),
      ),
      h('p', { class: 'hint' }, 'Ordered on ', timeElement(order.createdAt), '.'),
    );
  };

  /** The quote of an option: '' is no coupon. */
  const quoteOf = (option: string): Quote | string | null => (option === '' ? baseQuote : quotes.get(option) ?? null);

  const best = (): string | null => {
    if (coupons.length === 0) return null;
    let found: string | null = null;
    let lowest: bigint | null = null;
    for (const option of ['', ...coupons.map((c) => c.id)]) {
      const quote = quoteOf(option);
      if (!quote || typeof quote === 'string' || quote.userErrors.length > 0) continue;
      const amount = BigInt(quote.payableAmount);
      if (lowest === null || amount < lowest) {
        lowest = amount;
        found = option;
      }
    }
    return found;
  };

  const payButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'pay' }, 'Pay');
  const cancelButton = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel-order' }, 'Cancel this order');
  const quoteProblem = h('div', { 'data-testid': 'quote-problem' });

  const drawPayButton = () => {
    const quote = quoteOf(selected);
    const amount = quote && typeof quote !== 'string' ? money(quote.payableAmount) : null;
    payButton.textContent = paying ? 'Paying…' : amount ? `Pay ${amount}` : 'Pay';
    payButton.disabled = paying;
    cancelButton.disabled = paying;
    if (paying) payButton.setAttribute('aria-busy', 'true');
    else payButton.removeAttribute('aria-busy');
    replace(
      quoteProblem,
      quote && typeof quote !== 'string' && quote.userErrors.length > 0
        ? notice('warning', h('p', null, 'Paying this way would be refused now: ', [...new Set(quote.userErrors.map(userErrorText))].join(' ')), quote.userErrors.some((e) => e.code === 'INSUFFICIENT_BALANCE') ? h('p', null, h('a', { href: path('account') }, 'Add money to your balance')) : null)
        : null,
    );
  };

  const option = (id: string, label: string, coupon: Coupon | null): HTMLElement => {
    const quote = quoteOf(id);
    const inputId = `coupon-${id || 'none'}`;
    let detail: string;
    if (quote === null) detail = 'Working out the price…';
    else if (typeof quote === 'string') detail = quote;
    else if (quote.userErrors.length > 0) detail = `Not usable now: ${[...new Set(quote.userErrors.map(userErrorText))].join(' ')}`;
    else if (quote.discountAmount !== '0') detail = `You pay ${money(quote.payableAmount)} (you save ${money(quote.discountAmount)})`;
    else detail = `You pay ${money(quote.payableAmount)}`;
    const unusable = quote !== null && (typeof quote === 'string' || quote.userErrors.some((e) => e.code !== 'INSUFFICIENT_BALANCE'));
    const radio = h('input', {
      type: 'radio',
      name: 'coupon',
      id: inputId,
      value: id,
      checked: selected === id,
      disabled: unusable && id !== '',
      'aria-describedby': `${inputId}-quote`,
      'data-testid': 'coupon-option',
      'data-user-coupon-id': id,
    });
    radio.addEventListener('change', () => {
      selected = id;
      drawPayButton();
    });
    return h(
      'div',
      { class: 'choice' },
      radio,
      h(
        'label',
        { for: inputId },
        h('span', { class: 'choice-title' }, label, id === best() ? h('span', { class: 'tag' }, 'Best price') : null),
        h('span', { class: 'choice-detail', id: `${inputId}-quote`, 'data-testid': 'coupon-quote' }, detail),
      ),
      coupon?.coupon.validUntil ? h('p', { class: 'hint' }, `Valid until ${dateTime(coupon.coupon.validUntil)}`) : null,
    );
  };

  const drawPay = () => {
    if (!order) return;
    if (order.status !== 'PENDING') {
      const words = finalWords(order);
      const focusWasHere = pay.contains(document.activeElement);
      replace(
        pay,
        h('h2', { id: 'pay-heading', tabindex: -1 }, words.title),
        notice(words.kind, h('p', { 'data-testid': 'order-final' }, words.text)),
        h('p', null, h('a', { href: path('account') }, 'See your orders and balance'), ' · ', h('a', { href: path() }, 'Keep shopping')),
      );
      if (focusWasHere) (pay.querySelector('h2') as HTMLElement).focus();
      return;
    }
    if (selected && !coupons.some((c) => c.id === selected)) selected = '';
    const timerLine = order.expiresAt
      ? h(
          'p',
          { class: 'timer' },
          'Time left to pay: ',
          h('strong', { 'aria-hidden': 'true' }, countdown),
          countdownWords,
          h('span', { class: 'hint' }, ` (until ${time(order.expiresAt)})`),
        )
      : null;
    const form = h(
      'form',
      { class: 'pay-form', 'data-testid': 'pay-form' },
      h(
        'fieldset',
        null,
        h('legend', null, coupons.length > 0 ? 'Pay with a coupon?' : 'Coupon'),
        option('', 'No coupon', null),
        coupons.map((c) => option(c.id, `${c.coupon.name}: ${discount(c.coupon.discountType, c.coupon.discountValue)}`, c)),
        coupons.length === 0
          ? h('p', { class: 'hint' }, 'You hold no usable coupon. ', h('a', { href: path('coupons') }, 'See the coupon campaigns'), '.')
          : null,
      ),
      h('p', null, 'Your balance: ', h('strong', { 'data-testid': 'order-balance' }, money(balance))),
      quoteProblem,
      h('div', { class: 'actions' }, payButton, cancelButton),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void payNow();
    });
    replace(
      pay,
      h('h2', { id: 'pay-heading' }, 'Pay'),
      timerLine,
      order.expiresAt
        ? h('p', { class: 'hint' }, order.holdsStock ? 'The items are held for you until then.' : 'Nothing is reserved: items may sell out before you pay.')
        : null,
      form,
    );
    drawPayButton();
    if (order.expiresAt) {
      stopTimer();
      tick();
      timer = window.setInterval(tick, 1000);
    }
  };

  const draw = () => {
    drawStatus();
    drawLines();
    drawPay();
  };

  /** Takes a newer state of the order (from a mutation or the subscription). */
  const update = (next: OrderFieldsFragment) => {
    const before = order?.status;
    order = next;
    if (before !== next.status) {
      draw();
      if (before) announce(`Order ${shortId(next.id)}: ${STATUS_LABEL[next.status] ?? next.status}.`);
      if (next.status !== 'PENDING') void refreshHeader();
    } else {
      drawStatus();
      drawLines();
    }
  };

  // ---- quotes ----
  const loadQuotes = async () => {
    await Promise.all(
      coupons.map(async (c) => {
        try {
          const result = await request(QuoteQuery, { id: orderId, userCouponId: c.id });
          quotes.set(c.id, result.order?.quote ?? 'No price for this coupon.');
        } catch (error) {
          quotes.set(c.id, describe(error));
        }
      }),
    );
    if (!signal.aborted && order?.status === 'PENDING' && !paying) drawPay();
  };

  // ---- reading the order ----
  let data: OrderPageData | null = null;
  const load = async () => {
    try {
      data = await request(OrderPageQuery, { id: orderId });
    } catch (error) {
      if (!signal.aborted && !order) replace(body, loadFailed(error, () => void load()));
      else if (!signal.aborted) replace(outcome, notice('error', describe(error)));
      return;
    }
    if (signal.aborted) return;
    if (!data.order) {
      replace(
        body,
        notice(
          'info',
          h('p', null, 'There is no such order among yours. An order is visible to its shopper only: if it is another shopper’s, switch in the header.'),
          h('p', null, h('a', { href: path('account') }, 'See your orders')),
        ),
      );
      statusRegion.hidden = true;
      return;
    }
    const { quote, ...fields } = data.order;
    baseQuote = quote;
    balance = data.viewer.balance;
    coupons = data.viewer.coupons.nodes;
    quotes.clear();
    order = fields;
    if (!body.contains(lines)) replace(body, lines, pay);
    draw();
    if (order.status === 'PENDING' && coupons.length > 0) void loadQuotes();
  };

  // ---- paying and cancelling ----
  const payNow = async () => {
    if (!order || paying) return;
    paying = true;
    drawPayButton();
    replace(outcome, h('p', { role: 'status' }, 'Paying…'));
    try {
      const { payOrder } = await request(PayOrderMutation, {
        input: { orderId, ...(selected ? { userCouponId: selected } : {}) },
      });
      paying = false;
      if (payOrder.userErrors.length === 0 && payOrder.order) {
        replace(outcome);
        update(payOrder.order);
        return;
      }
      const codes = payOrder.userErrors.map((e) => e.code);
      if (payOrder.order && (codes.includes('ORDER_ALREADY_PAID') || codes.includes('ORDER_EXPIRED') || codes.includes('ORDER_CANCELLED'))) {
        replace(outcome, userErrors(payOrder.userErrors));
        update(payOrder.order);
        return;
      }
      replace(outcome, userErrors(payOrder.userErrors));
      drawPayButton();
      void load();
    } catch (error) {
      paying = false;
      replace(outcome, notice('error', h('p', null, describe(error)), h('p', null, 'If you try again, the order is paid once at most.')));
      drawPayButton();
    }
  };

  cancelButton.addEventListener('click', async () => {
    if (!order || paying) return;
    cancelButton.disabled = true;
    try {
      const { cancelOrder } = await request(CancelOrderMutation, { input: { orderId } });
      if (cancelOrder.order) update(cancelOrder.order);
      replace(outcome, cancelOrder.userErrors.length > 0 ? userErrors(cancelOrder.userErrors) : null);
    } catch (error) {
      replace(outcome, notice('error', describe(error)));
    }
    cancelButton.disabled = false;
  });

  replace(lines, loading('the order'));
  await load();
  if (signal.aborted || !order) return;

  // ---- live ----
  context.onLeave(
    watch(OrderLiveSubscription, { orderId }, {
      next: ({ orderUpdated }) => {
        if (!signal.aborted) update(orderUpdated);
      },
      error: (message, code) => {
        if (code !== 'NOT_FOUND') liveState.textContent = `Off (${message})`;
      },
      complete: () => {
        if (order?.status !== 'PENDING' && order?.status !== 'PAID') liveState.textContent = 'Final';
      },
      reconnected: () => void load(),
      state: (state) => {
        if (liveState.textContent !== 'Final') liveState.textContent = stateText(state);
      },
    }),
  );
}

