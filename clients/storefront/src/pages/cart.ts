// The cart: its lines at today's prices (change a quantity, remove a
// line), the subtotal, and "Place order", which orders the whole cart and
// opens the order form page.
import { request } from '../api.js';
import { h, idempotencyKey, loading, notice, replace } from '../dom.js';
import { describe } from '../errors.js';
import { money, plural } from '../format.js';
import { refreshHeader } from '../header.js';
import { navigate, path, type PageContext } from '../router.js';
import { loadFailed, requireShopper, userErrors } from './common.js';
import {
  CreateOrderFromCartMutation,
  RemoveCartItemMutation,
  ShopCartQuery,
  UpdateCartItemMutation,
} from '../../../typescript/src/operations.js';
import type { CartFieldsFragment } from '../../../typescript/src/gql/graphql.js';

export async function cartPage(context: PageContext): Promise<void> {
  const { main, signal } = context;
  context.title('Cart');
  if (!requireShopper(main, 'Your cart')) return;
  const body = h('div');
  const outcome = h('div', { class: 'outcome', 'data-testid': 'cart-outcome' });
  main.append(h('h1', null, 'Your cart'), outcome, body);
  // One key per cart as it stands: a retry of "Place order" orders once.
  let orderKey = idempotencyKey();

  const draw = (cart: CartFieldsFragment, balance: string) => {
    orderKey = idempotencyKey();
    if (cart.items.length === 0) {
      replace(body, notice('info', h('p', null, 'Your cart is empty. ', h('a', { href: path() }, 'Browse the catalog'), '.')));
      return;
    }
    const rows = cart.items.map((item) => {
      const { product } = item;
      const inputId = `qty-${product.id}`;
      const quantity = h('input', {
        type: 'number',
        id: inputId,
        min: 0,
        max: 1000,
        step: 1,
        value: String(item.quantity),
        inputmode: 'numeric',
        'data-testid': 'cart-quantity',
      });
      const change = async (units: number) => {
        quantity.disabled = true;
        try {
          const payload =
            units === 0
              ? (await request(RemoveCartItemMutation, { input: { productId: product.id } })).removeCartItem
              : (await request(UpdateCartItemMutation, { input: { productId: product.id, quantity: units } })).updateCartItem;
          if (payload.userErrors.length > 0) {
            replace(outcome, userErrors(payload.userErrors));
            quantity.value = String(item.quantity);
          } else if (payload.cart) {
            replace(outcome, notice('success', units === 0 ? `Removed ${product.name}.` : `${product.name}: ${plural(units, 'unit')}.`));
            draw(payload.cart, balance);
            void refreshHeader();
          }
        } catch (error) {
          replace(outcome, notice('error', describe(error)));
        }
        quantity.disabled = false;
      };
      quantity.addEventListener('change', () => {
        const units = Number(quantity.value);
        if (!Number.isInteger(units) || units < 0 || units > 1000) {
          replace(outcome, notice('error', `${product.name}: choose a whole number from 0 to 1,000 (0 removes it).`));
          quantity.value = String(item.quantity);
          return;
        }
        if (units !== item.quantity) void change(units);
      });
      const problem = product.archivedAt
        ? 'No longer sold: remove it to order.'
        : product.stock < item.quantity
          ? product.stock === 0
            ? 'Out of stock now.'
            : `Only ${product.stock} in stock now.`
          : null;
      return h(
        'tr',
        { 'data-testid': 'cart-line' },
        h('th', { scope: 'row' }, h('a', { href: path('products', product.id) }, product.name), problem ? h('p', { class: 'field-error' }, problem) : null),
        h('td', { class: 'num' }, money(product.price)),
        h('td', null, h('label', { class: 'sr-only', for: inputId }, `Quantity of ${product.name}`), quantity),
        h('td', { class: 'num' }, money(item.lineTotal)),
        h(
          'td',
          null,
          h('button', { type: 'button', class: 'link', onclick: () => void change(0), 'aria-label': `Remove ${product.name}` }, 'Remove'),
        ),
      );
    });
    const place = h('button', { type: 'button', class: 'primary', 'data-testid': 'place-order' }, 'Place order');
    place.addEventListener('click', async () => {
      place.disabled = true;
      place.setAttribute('aria-busy', 'true');
      replace(outcome, h('p', { role: 'status' }, 'Placing the order…'));
      try {
        const { createOrderFromCart } = await request(CreateOrderFromCartMutation, { input: { idempotencyKey: orderKey } });
        if (createOrderFromCart.order && createOrderFromCart.userErrors.length === 0) {
          navigate(createOrderFromCart.order.paymentUrl);
          return;
        }
        replace(outcome, userErrors(createOrderFromCart.userErrors));
        orderKey = idempotencyKey();
      } catch (error) {
        replace(outcome, notice('error', describe(error)));
      }
      place.disabled = false;
      place.removeAttribute('aria-busy');
    });
    replace(
      body,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'lines' },
          h('caption', { class: 'sr-only' }, 'The lines of your cart'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Product'),
              h('th', { scope: 'col', class: 'num' }, 'Price'),
              h('th', { scope: 'col' }, 'Quantity'),
              h('th', { scope: 'col', class: 'num' }, 'Total'),
              h('td'),
            ),
          ),
          h('tbody', null, rows),
          h(
            'tfoot',
            null,
            h('tr', null, h('th', { scope: 'row', colspan: 3 }, `Subtotal (${plural(cart.totalQuantity, 'item')})`), h('td', { class: 'num', 'data-testid': 'cart-subtotal' }, money(cart.subtotal)), h('td')),
          ),
        ),
      ),
      h('p', { class: 'hint' }, `Prices are today's; nothing is reserved until you order. Your balance: ${money(balance)}.`),
      h('div', { class: 'actions' }, place),
    );
  };

  const load = async () => {
    replace(body, loading('your cart'));
    try {
      const { viewer } = await request(ShopCartQuery);
      if (!signal.aborted) draw(viewer.cart, viewer.balance);
    } catch (error) {
      if (!signal.aborted) replace(body, loadFailed(error, load));
    }
  };
  await load();
}
