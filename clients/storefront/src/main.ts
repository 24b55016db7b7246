// The storefront's entry: the header, the routes, and a redraw when the
// shopper changes. Pages live in src/pages/, one module each.
import { h, replace } from './dom.js';
import { mountHeader, refreshHeader } from './header.js';
import { fallback, path, refresh, route, start } from './router.js';
import { onShopperChange } from './session.js';
import { accountPage } from './pages/account.js';
import { cartPage } from './pages/cart.js';
import { catalogPage } from './pages/catalog.js';
import { campaignPage, couponsPage } from './pages/coupons.js';
import { orderPage } from './pages/order.js';
import { productPage } from './pages/product.js';

route(/^$/, catalogPage);
route(/^products\/([^/]+)$/, productPage);
route(/^cart$/, cartPage);
route(/^orders\/([^/]+)$/, orderPage);
route(/^account$/, accountPage);
route(/^coupons$/, couponsPage);
route(/^coupons\/([^/]+)$/, campaignPage);
fallback((context) => {
  context.title('Not found');
  replace(
    context.main,
    h('h1', null, 'Page not found'),
    h('p', null, 'There is nothing at this address. ', h('a', { href: path() }, 'Go to the catalog'), '.'),
  );
});

mountHeader();
onShopperChange(() => {
  void refreshHeader();
  refresh();
});
start();
