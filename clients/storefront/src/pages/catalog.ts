// The catalog: word search by relevance, six sort orders, the in-stock
// filter and pages both ways (keyset cursors). Its state lives in the URL
// (?q=&sort=&instock=1&after= or &before=), so every view is a link.
import { request } from '../api.js';
import { h, loading, notice, replace } from '../dom.js';
import { money, plural } from '../format.js';
import { path, navigate, type PageContext } from '../router.js';
import { loadFailed } from './common.js';
import { addToCartButton } from './product.js';
import { CatalogQuery } from '../../../typescript/src/operations.js';
import type { ProductOrder } from '../../../typescript/src/gql/graphql.js';

const PAGE_SIZE = 12;

const SORTS: [ProductOrder, string][] = [
  ['RELEVANCE', 'Best match'],
  ['NEWEST', 'Newest'],
  ['OLDEST', 'Oldest'],
  ['PRICE_ASC', 'Price: low to high'],
  ['PRICE_DESC', 'Price: high to low'],
  ['NAME', 'Name: A to Z'],
];

interface CatalogState {
  q: string;
  sort: ProductOrder;
  inStock: boolean;
  after?: string;
  before?: string;
}

function readState(url: URL): CatalogState {
  const q = (url.searchParams.get('q') ?? '').trim();
  const asked = url.searchParams.get('sort') as ProductOrder | null;
  const sort = SORTS.some(([s]) => s === asked) ? (asked as ProductOrder) : q ? 'RELEVANCE' : 'NEWEST';
  return {
    q,
    sort,
    inStock: url.searchParams.get('instock') === '1',
    after: url.searchParams.get('after') ?? undefined,
    before: url.searchParams.get('before') ?? undefined,
  };
}

function href(state: CatalogState): string {
  const params = new URLSearchParams();
  if (state.q) params.set('q', state.q);
  if (state.sort !== (state.q ? 'RELEVANCE' : 'NEWEST')) params.set('sort', state.sort);
  if (state.inStock) params.set('instock', '1');
  if (state.after) params.set('after', state.after);
  if (state.before) params.set('before', state.before);
  const query = params.toString();
  return query ? `${path()}?${query}` : path();
}

/** Why a search cannot be run, or null: the server needs one word of 3 letters or digits in a row. */
function searchProblem(q: string): string | null {
  if (!q) return null;
  if (q.length > 200) return 'A search is at most 200 characters.';
  if (!/[\p{L}\p{N}]{3}/u.test(q)) return 'Type at least one word of three letters or digits.';
  return null;
}

function filters(state: CatalogState): HTMLFormElement {
  const search = h('input', {
    type: 'search',
    id: 'catalog-search',
    name: 'q',
    value: state.q,
    maxlength: 200,
    autocomplete: 'off',
    enterkeyhint: 'search',
    'aria-describedby': 'catalog-search-hint',
  });
  const sort = h(
    'select',
    { id: 'catalog-sort', name: 'sort' },
    SORTS.map(([value, label]) => h('option', { value, selected: value === state.sort }, label)),
  );
  const inStock = h('input', { type: 'checkbox', id: 'catalog-instock', name: 'instock', value: '1', checked: state.inStock });
  const form = h(
    'form',
    { class: 'filters', role: 'search', action: path(), method: 'get' },
    h(
      'div',
      { class: 'field grow' },
      h('label', { for: 'catalog-search' }, 'Search products'),
      h('div', { class: 'inline' }, search, h('button', { type: 'submit' }, 'Search')),
      h('p', { class: 'hint', id: 'catalog-search-hint' }, 'Every word must appear in the name or the description.'),
    ),
    h('div', { class: 'field' }, h('label', { for: 'catalog-sort' }, 'Sort by'), sort),
    h('div', { class: 'field check' }, inStock, h('label', { for: 'catalog-instock' }, 'In stock only')),
  );
  const apply = () =>
    navigate(href({ q: search.value.trim(), sort: sort.value as ProductOrder, inStock: inStock.checked }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // A new search starts with its best matches, unless an order was chosen.
    if (search.value.trim() !== state.q && search.value.trim() && !new URL(location.href).searchParams.has('sort')) {
      sort.value = 'RELEVANCE';
    }
    apply();
  });
  sort.addEventListener('change', apply);
  inStock.addEventListener('change', apply);
  return form;
}

export async function catalogPage(context: PageContext): Promise<void> {
  const { main, url, signal } = context;
  const state = readState(url);
  context.title(state.q ? `“${state.q}”` : 'Catalog');
  const results = h('section', { 'aria-labelledby': 'results-heading', class: 'results' });
  main.append(h('h1', null, state.q ? `Search: ${state.q}` : 'Catalog'), filters(state), results);

  const problem = searchProblem(state.q);
  if (problem) {
    replace(results, h('h2', { id: 'results-heading', class: 'sr-only' }, 'Results'), notice('warning', problem));
    return;
  }

  const load = async () => {
    replace(results, loading('products'));
    try {
      const { products } = await request(CatalogQuery, {
        ...(state.before ? { last: PAGE_SIZE, before: state.before } : { first: PAGE_SIZE, after: state.after }),
        search: state.q || undefined,
        inStockOnly: state.inStock,
        orderBy: state.sort,
      });
      if (signal.aborted) return;
      const count = h(
        'p',
        { class: 'count-line', role: 'status', 'data-testid': 'result-count' },
        products.totalCount === 0 ? 'No products found' : `${plural(products.totalCount, 'product')} found`,
      );
      if (products.nodes.length === 0) {
        replace(
          results,
          h('h2', { id: 'results-heading', class: 'sr-only' }, 'Results'),
          count,
          notice(
            'info',
            state.q || state.inStock
              ? h('p', null, 'Nothing matches. Try other words, or ', h('a', { href: path() }, 'see every product'), '.')
              : h('p', null, 'The catalog is empty for now.'),
          ),
        );
        return;
      }
      const { pageInfo } = products;
      // Paging forward, a connection may not look back (and the reverse): a cursor says there is a page there.
      const hasPrevious = pageInfo.hasPreviousPage || Boolean(state.after);
      const hasNext = pageInfo.hasNextPage || Boolean(state.before);
      replace(
        results,
        h('h2', { id: 'results-heading', class: 'sr-only' }, 'Results'),
        count,
        h(
          'ul',
          { class: 'grid', 'data-testid': 'product-list' },
          products.nodes.map((product) =>
            h(
              'li',
              { class: 'card', 'data-testid': 'product-card' },
              h('h3', null, h('a', { href: path('products', product.id) }, product.name)),
              product.description ? h('p', { class: 'description' }, product.description) : null,
              h('p', { class: 'price' }, money(product.price)),
              h(
                'p',
                { class: product.stock > 0 ? 'stock' : 'stock out' },
                product.stock > 0 ? `${product.stock.toLocaleString()} in stock` : 'Out of stock',
              ),
              addToCartButton(product, 1),
            ),
          ),
        ),
        hasPrevious || hasNext
          ? h(
              'nav',
              { class: 'pager', 'aria-label': 'Pages of results' },
              hasPrevious && pageInfo.startCursor
                ? h('a', { href: href({ ...state, after: undefined, before: pageInfo.startCursor }), rel: 'prev' }, '← Previous')
                : h('span'),
              hasNext && pageInfo.endCursor
                ? h('a', { href: href({ ...state, before: undefined, after: pageInfo.endCursor }), rel: 'next' }, 'Next →')
                : h('span'),
            )
          : null,
      );
    } catch (error) {
      if (!signal.aborted) replace(results, loadFailed(error, load));
    }
  };
  await load();
}
