// A product's page (its price, stock and description; add to the cart or
// buy now, which orders at once and opens the order form page), and the
// "Add to cart" button the catalog's cards use too.
import { request } from '../api.js';
import { h, idempotencyKey, loading, notice, replace } from '../dom.js';
import { describe } from '../errors.js';
import { money } from '../format.js';
import { refreshHeader } from '../header.js';
import { navigate, path, type PageContext } from '../router.js';
import { shopper } from '../session.js';
import { loadFailed, userErrors } from './common.js';
import { AddToCartMutation, CreateOrderMutation, ProductPageQuery } from '../../../typescript/src/operations.js';

/** Adds `quantity` of a product to the cart; gives a notice to show. */
async function addToCart(product: { id: string; name: string }, quantity: number): Promise<HTMLElement> {
  try {
    const { addCartItem } = await request(AddToCartMutation, { input: { productId: product.id, quantity } });
    if (addCartItem.userErrors.length > 0) return userErrors(addCartItem.userErrors);
    void refreshHeader();
    return notice(
      'success',
      h('p', null, `Added ${quantity} × ${product.name} to your cart. `, h('a', { href: path('cart') }, 'View the cart')),
    );
  } catch (error) {
    return notice('error', describe(error));
  }
}

/** A button that adds `quantity` units (or what `quantityOf` reads), with its outcome beside it. */
export function addToCartButton(
  product: { id: string; name: string; stock: number },
  quantity: number,
  quantityOf?: () => number | null,
): HTMLElement {
  const outcome = h('div', { class: 'outcome' });
  const button = h(
    'button',
    {
      type: 'button',
      'data-testid': 'add-to-cart',
      disabled: product.stock <= 0 || !shopper(),
      // The visible words first (WCAG's label in name), then which product.
      'aria-label': product.stock > 0 ? `Add to cart: ${product.name}` : `Sold out: ${product.name}`,
    },
    product.stock > 0 ? 'Add to cart' : 'Sold out',
  );
  button.addEventListener('click', async () => {
    const units = quantityOf ? quantityOf() : quantity;
    if (units === null) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    replace(outcome, await addToCart(product, units));
    button.disabled = false;
    button.removeAttribute('aria-busy');
  });
  return h('div', { class: 'actions' }, button, outcome);
}

export async function productPage(context: PageContext): Promise<void> {
  const { main, signal } = context;
  const [id = ''] = context.params;
  const load = async () => {
    replace(main, loading('the product'));
    let product;
    try {
      product = (await request(ProductPageQuery, { id })).product;
    } catch (error) {
      if (!signal.aborted) replace(main, h('h1', null, 'Product'), loadFailed(error, load));
      return;
    }
    if (signal.aborted) return;
    if (!product) {
      context.title('Not found');
      replace(main, h('h1', null, 'No such product'), notice('info', h('p', null, 'It may have been removed. ', h('a', { href: path() }, 'Back to the catalog'))));
      return;
    }
    context.title(product.name);
    const max = Math.max(1, Math.min(1000, product.stock));
    const quantity = h('input', {
      type: 'number',
      id: 'quantity',
      name: 'quantity',
      min: 1,
      max,
      step: 1,
      value: '1',
      inputmode: 'numeric',
      required: true,
      'aria-describedby': 'quantity-hint',
    });
    const quantityError = h('p', { class: 'field-error', id: 'quantity-error', role: 'alert' });
    const readQuantity = (): number | null => {
      const value = Number(quantity.value);
      if (!Number.isInteger(value) || value < 1 || value > max) {
        quantityError.textContent = `Choose a whole number from 1 to ${max}.`;
        quantity.setAttribute('aria-invalid', 'true');
        quantity.focus();
        return null;
      }
      quantityError.textContent = '';
      quantity.removeAttribute('aria-invalid');
      return value;
    };
    const buyOutcome = h('div', { class: 'outcome' });
    const buy = h('button', { type: 'submit', 'data-testid': 'buy-now', class: 'primary' }, 'Buy now');
    const sold = product.archivedAt !== null && product.archivedAt !== undefined;
    const form = h(
      'form',
      { class: 'buy' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'quantity' }, 'Quantity'),
        quantity,
        h('p', { class: 'hint', id: 'quantity-hint' }, `1 to ${max}`),
        quantityError,
      ),
      h('div', { class: 'actions' }, buy, addToCartButton(product, 1, readQuantity)),
      buyOutcome,
    );
    // One key per product page visit: a double click or a retry orders once.
    const key = idempotencyKey();
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const units = readQuantity();
      if (units === null) return;
      buy.disabled = true;
      buy.setAttribute('aria-busy', 'true');
      replace(buyOutcome, h('p', { role: 'status' }, 'Placing the order…'));
      try {
        const { createOrder } = await request(CreateOrderMutation, {
          input: { items: [{ productId: product.id, quantity: units }], idempotencyKey: `${key}-${units}` },
        });
        if (createOrder.order && createOrder.userErrors.length === 0) {
          navigate(createOrder.order.paymentUrl);
          return;
        }
        replace(buyOutcome, userErrors(createOrder.userErrors));
      } catch (error) {
        replace(buyOutcome, notice('error', describe(error)));
      }
      buy.disabled = false;
      buy.removeAttribute('aria-busy');
    });
    replace(
      main,
      h('p', { class: 'crumbs' }, h('a', { href: path() }, '← Catalog')),
      h(
        'article',
        { class: 'product', 'data-testid': 'product' },
        h('h1', null, product.name),
        h('p', { class: 'price big', 'data-testid': 'product-price' }, money(product.price)),
        sold
          ? notice('warning', 'This product is no longer sold.')
          : h(
              'p',
              { class: product.stock > 0 ? 'stock' : 'stock out', 'data-testid': 'product-stock' },
              product.stock > 0 ? `${product.stock.toLocaleString()} in stock` : 'Out of stock',
              product.heldStock > 0 ? ` (${product.heldStock.toLocaleString()} more held by unpaid orders)` : '',
            ),
        product.description ? h('p', { class: 'description' }, product.description) : null,
        sold || product.stock <= 0 ? null : shopper() ? form : notice('info', 'Choose a shopper in the header to buy.'),
      ),
    );
  };
  await load();
}
