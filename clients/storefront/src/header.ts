// The header on every page: the shop's name, the navigation (with the
// cart's count), the shopper switch and the shopper's balance.
import { request } from './api.js';
import { config } from './config.js';
import { h, replace } from './dom.js';
import { money, plural } from './format.js';
import { BASE, path } from './router.js';
import { onShopperChange, shopper, switchShopper } from './session.js';
import { ShopperQuery } from '../../typescript/src/operations.js';

const cartCount = h('span', { class: 'count', 'data-testid': 'cart-count', 'aria-hidden': 'true' });
const cartWords = h('span', { class: 'sr-only' });
const balance = h('span', { class: 'balance', 'data-testid': 'header-balance' });

const links: [string, string, (HTMLElement | string)[]][] = [
  [BASE, 'catalog', ['Catalog']],
  [path('coupons'), 'coupons', ['Coupons']],
  [path('cart'), 'cart', ['Cart ', cartCount, cartWords]],
  [path('account'), 'account', ['My account']],
];

function navLinks(): HTMLElement {
  return h(
    'nav',
    { 'aria-label': 'Shop' },
    h('ul', null, links.map(([href, name, label]) => h('li', null, h('a', { href, 'data-nav': name }, label)))),
  );
}

function shopperSwitch(): HTMLElement {
  if (config.shoppers.length === 0) {
    return h('p', { class: 'shopper' }, 'Browsing as a guest');
  }
  const select = h(
    'select',
    {
      id: 'shopper',
      'data-testid': 'shopper-switch',
      onchange: (event: Event) => switchShopper((event.target as HTMLSelectElement).value),
    },
    config.shoppers.map((s) =>
      h('option', { value: s.subject, selected: s.subject === shopper()?.subject }, s.name),
    ),
  );
  onShopperChange((s) => {
    if (s) select.value = s.subject;
  });
  return h('div', { class: 'shopper' }, h('label', { for: 'shopper' }, 'Shopping as'), select, balance);
}

/** Reads the shopper's balance and cart count again (after a change). */
export async function refreshHeader(): Promise<void> {
  if (!shopper()) return;
  try {
    const { viewer } = await request(ShopperQuery);
    replace(balance, 'Balance ', h('strong', null, money(viewer.balance)));
    balance.title = 'Your balance';
    const units = viewer.cart.totalQuantity;
    cartCount.textContent = units > 0 ? `(${units})` : '';
    cartWords.textContent = units > 0 ? `, ${plural(units, 'item')}` : ', empty';
  } catch {
    balance.textContent = '';
    cartCount.textContent = '';
    cartWords.textContent = '';
  }
}

/** Draws the header once, and keeps its current link marked. */
export function mountHeader(): void {
  const header = document.getElementById('site-header');
  if (!header) return;
  const nav = navLinks();
  replace(header, h('a', { class: 'brand', href: BASE }, 'Commerce shop'), nav, shopperSwitch());
  document.addEventListener('shop:navigated', (event) => {
    const here = (event as CustomEvent<string>).detail;
    for (const link of nav.querySelectorAll<HTMLAnchorElement>('a[data-nav]')) {
      const target = new URL(link.href).pathname;
      const current = target === BASE ? here === BASE : here === target || here.startsWith(`${target}/`);
      if (current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  });
  void refreshHeader();
}
