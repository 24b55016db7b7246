// My account: the balance (and a form to add money to it), my orders
// (newest first, by status, more on demand) and the balance's history
// (every charge, payment and refund, newest first).
import { request } from '../api.js';
import { announce, h, idempotencyKey, loading, notice, replace } from '../dom.js';
import { describe } from '../errors.js';
import { dateTime, money, plural, shortId, timeElement } from '../format.js';
import { refreshHeader } from '../header.js';
import { path, type PageContext } from '../router.js';
import { shopper } from '../session.js';
import { loadFailed, requireShopper, userErrors } from './common.js';
import { BalanceHistoryQuery, ChargeBalanceMutation, MyOrdersQuery } from '../../../typescript/src/operations.js';
import type { OrderStatus } from '../../../typescript/src/gql/graphql.js';

const PAGE_SIZE = 10;
const STATUSES: [OrderStatus | '', string][] = [
  ['', 'Every status'],
  ['PENDING', 'Waiting for payment'],
  ['PAID', 'Paid'],
  ['EXPIRED', 'Expired'],
  ['CANCELLED', 'Cancelled'],
  ['REFUNDED', 'Refunded'],
];
const STATUS_LABEL = Object.fromEntries(STATUSES) as Record<string, string>;
const KIND_LABEL: Record<string, string> = { CHARGE: 'Money added', PAYMENT: 'Payment', REFUND: 'Refund' };

export async function accountPage(context: PageContext): Promise<void> {
  const { main, signal } = context;
  context.title('My account');
  if (!requireShopper(main, 'My account')) return;

  const balance = h('p', { class: 'price big', 'data-testid': 'account-balance' }, '…');
  const orders = h('div');
  const history = h('div');
  main.append(
    h('h1', null, `My account`),
    h('p', { class: 'hint' }, `Shopping as ${shopper()?.name ?? ''} (${shopper()?.subject ?? ''}).`),
    h('section', { 'aria-labelledby': 'balance-heading', class: 'panel' }, h('h2', { id: 'balance-heading' }, 'Balance'), balance, chargeForm()),
    h('section', { 'aria-labelledby': 'orders-heading' }, h('h2', { id: 'orders-heading' }, 'My orders'), statusFilter(), orders),
    h('section', { 'aria-labelledby': 'history-heading' }, h('h2', { id: 'history-heading' }, 'Balance history'), history),
  );

  function chargeForm(): HTMLElement {
    const amount = h('input', { type: 'text', id: 'charge-amount', inputmode: 'numeric', pattern: '[0-9]*', autocomplete: 'off', required: true, 'aria-describedby': 'charge-hint' });
    const outcome = h('div', { class: 'outcome' });
    const submit = h('button', { type: 'submit' }, 'Add money');
    let key = idempotencyKey();
    const form = h(
      'form',
      { class: 'inline-form' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'charge-amount' }, 'Amount to add'),
        h('div', { class: 'inline' }, amount, submit),
        h('p', { class: 'hint', id: 'charge-hint' }, 'In whole units of the currency’s smallest unit, 1 to 100,000,000,000 (a demo: no card is charged).'),
      ),
      outcome,
    );
    amount.addEventListener('input', () => (key = idempotencyKey()));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = amount.value.trim().replace(/[\s,._]/g, '');
      if (!/^[1-9]\d{0,11}$/.test(value) || BigInt(value) > 100_000_000_000n) {
        amount.setAttribute('aria-invalid', 'true');
        replace(outcome, notice('error', 'Enter a whole amount from 1 to 100,000,000,000.'));
        amount.focus();
        return;
      }
      amount.removeAttribute('aria-invalid');
      submit.disabled = true;
      try {
        const { chargeBalance } = await request(ChargeBalanceMutation, { input: { amount: value, idempotencyKey: key } });
        if (chargeBalance.userErrors.length > 0) {
          replace(outcome, userErrors(chargeBalance.userErrors));
        } else if (chargeBalance.user) {
          replace(outcome, notice('success', `Added ${money(value)}. Your balance is ${money(chargeBalance.user.balance)}.`));
          balance.textContent = money(chargeBalance.user.balance);
          amount.value = '';
          key = idempotencyKey();
          void refreshHeader();
          void loadHistory(true);
        }
      } catch (error) {
        replace(outcome, notice('error', describe(error)));
      }
      submit.disabled = false;
    });
    return form;
  }

  let status: OrderStatus | '' = '';
  function statusFilter(): HTMLElement {
    const select = h('select', { id: 'orders-status' }, STATUSES.map(([value, label]) => h('option', { value }, label)));
    select.addEventListener('change', () => {
      status = select.value as OrderStatus | '';
      void loadOrders(true);
    });
    return h('div', { class: 'field inline-field' }, h('label', { for: 'orders-status' }, 'Show'), select);
  }

  // ---- orders ----
  let ordersAfter: string | undefined;
  const orderList = h('ul', { class: 'rows', 'data-testid': 'my-orders' });
  const loadOrders = async (fresh: boolean) => {
    if (fresh) {
      ordersAfter = undefined;
      replace(orders, loading('your orders'));
    }
    try {
      const { viewer } = await request(MyOrdersQuery, { first: PAGE_SIZE, after: ordersAfter, status: status || undefined });
      if (signal.aborted) return;
      balance.textContent = money(viewer.balance);
      const page = viewer.orders;
      if (fresh) {
        orderList.replaceChildren();
        replace(
          orders,
          h('p', { class: 'count-line', role: 'status' }, page.totalCount === 0 ? 'No orders yet.' : plural(page.totalCount, 'order')),
          page.totalCount === 0 ? h('p', null, h('a', { href: path() }, 'Browse the catalog')) : orderList,
        );
      }
      for (const order of page.nodes) {
        const items = order.items.map((i) => `${i.quantity} × ${i.product.name}`).join(', ');
        orderList.append(
          h(
            'li',
            { class: 'row', 'data-testid': 'my-order' },
            h('a', { href: path('orders', order.id), class: 'row-title' }, `Order ${shortId(order.id)}`),
            h('span', { class: `badge ${order.status.toLowerCase()}` }, STATUS_LABEL[order.status] ?? order.status),
            h('span', { class: 'num' }, money(order.payableAmount)),
            h('span', { class: 'hint row-detail' }, items, ' · ', timeElement(order.createdAt)),
          ),
        );
      }
      orders.querySelector('.more')?.remove();
      if (page.pageInfo.hasNextPage && page.pageInfo.endCursor) {
        ordersAfter = page.pageInfo.endCursor;
        orders.append(
          h('button', { type: 'button', class: 'secondary more', onclick: () => void loadOrders(false) }, 'Show more orders'),
        );
      }
      if (!fresh) announce(`${plural(page.nodes.length, 'more order')} shown.`);
    } catch (error) {
      if (!signal.aborted) replace(orders, loadFailed(error, () => void loadOrders(true)));
    }
  };

  // ---- history ----
  let historyAfter: string | undefined;
  const rows = h('tbody');
  const loadHistory = async (fresh: boolean) => {
    if (fresh) {
      historyAfter = undefined;
      replace(history, loading('your balance history'));
    }
    try {
      const { viewer } = await request(BalanceHistoryQuery, { first: PAGE_SIZE, after: historyAfter });
      if (signal.aborted) return;
      const page = viewer.balanceHistory;
      if (fresh) {
        rows.replaceChildren();
        replace(
          history,
          page.totalCount === 0
            ? h('p', null, 'No changes to your balance yet.')
            : h(
                'div',
                { class: 'table-wrap' },
                h(
                  'table',
                  { class: 'lines', 'data-testid': 'balance-history' },
                  h('caption', { class: 'sr-only' }, 'Every change to your balance, newest first'),
                  h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'What'), h('th', { scope: 'col', class: 'num' }, 'Amount'))),
                  rows,
                ),
              ),
        );
      }
      for (const entry of page.nodes) {
        const sign = entry.kind === 'PAYMENT' ? '−' : '+';
        rows.append(
          h(
            'tr',
            null,
            h('td', null, h('time', { datetime: entry.createdAt }, dateTime(entry.createdAt))),
            h('td', null, KIND_LABEL[entry.kind] ?? entry.kind, entry.order ? [' · ', h('a', { href: path('orders', entry.order.id) }, `order ${shortId(entry.order.id)}`)] : null),
            h('td', { class: `num ${entry.kind === 'PAYMENT' ? 'debit' : 'credit'}` }, `${sign}${money(entry.amount)}`),
          ),
        );
      }
      history.querySelector('.more')?.remove();
      if (page.pageInfo.hasNextPage && page.pageInfo.endCursor) {
        historyAfter = page.pageInfo.endCursor;
        history.append(h('button', { type: 'button', class: 'secondary more', onclick: () => void loadHistory(false) }, 'Show older entries'));
      }
    } catch (error) {
      if (!signal.aborted) replace(history, loadFailed(error, () => void loadHistory(true)));
    }
  };

  await Promise.all([loadOrders(true), loadHistory(true)]);
}
