// Path routing under /shop/ with history.pushState. Links are real
// <a href>s (they open in new tabs, and work without this script's
// help); a plain click on one is taken here instead of a page load. Each
// page gets a context whose cleanups (subscriptions, timers) run when the
// shopper leaves it, and whose signal says it is gone.
import { h, replace } from './dom.js';

export const BASE = '/shop/';

/** A path of the shop: path('orders', id) -> "/shop/orders/<id>". */
export function path(...segments: string[]): string {
  return BASE + segments.map(encodeURIComponent).join('/');
}

export interface PageContext {
  /** Where the page draws: <main>. */
  main: HTMLElement;
  /** The route's captured path segments, decoded. */
  params: string[];
  /** The page's URL (its query string holds the catalog's state). */
  url: URL;
  /** Aborted once the shopper has left the page. */
  signal: AbortSignal;
  /** Runs `cleanup` when the shopper leaves the page. */
  onLeave(cleanup: () => void): void;
  /** Sets the document's title ("<title> · Shop"). */
  title(text: string): void;
}

export type Page = (context: PageContext) => void | Promise<void>;

interface Route {
  pattern: RegExp;
  page: Page;
}

const routes: Route[] = [];
let notFound: Page = ({ main }) => replace(main, h('h1', null, 'Not found'));
let leaving: (() => void) | null = null;

/** Adds a route: a pattern over the path after /shop/ (segments still encoded). */
export function route(pattern: RegExp, page: Page): void {
  routes.push({ pattern, page });
}

export function fallback(page: Page): void {
  notFound = page;
}

/** Draws the page of the current location. `focus`: move focus to its heading (after a navigation). */
export async function render(focus: boolean): Promise<void> {
  leaving?.();
  const url = new URL(window.location.href);
  const rest = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : '';
  const main = document.getElementById('main') as HTMLElement;
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  leaving = () => {
    controller.abort();
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  let page = notFound;
  let params: string[] = [];
  for (const candidate of routes) {
    const match = candidate.pattern.exec(rest);
    if (match) {
      page = candidate.page;
      try {
        params = match.slice(1).map((p) => decodeURIComponent(p ?? ''));
      } catch {
        page = notFound;
      }
      break;
    }
  }
  main.replaceChildren();
  const context: PageContext = {
    main,
    params,
    url,
    signal: controller.signal,
    onLeave: (cleanup) => cleanups.push(cleanup),
    title: (text) => (document.title = `${text} · Shop`),
  };
  document.dispatchEvent(new CustomEvent('shop:navigated', { detail: url.pathname }));
  await page(context);
  if (focus && !controller.signal.aborted) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
}

/** Goes to `to` (a path or an absolute URL); another origin, or a path outside the shop, is a page load. */
export function navigate(to: string, { replace: replaceEntry = false } = {}): void {
  const url = new URL(to, window.location.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE)) {
    window.location.assign(url.toString());
    return;
  }
  if (replaceEntry) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void render(true);
}

/** Takes over plain clicks on links into the shop, and the back and forward buttons. */
export function start(): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    const link = (event.target as Element | null)?.closest?.('a');
    if (!link || !link.href || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href);
    if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE)) return;
    if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) return;
    event.preventDefault();
    navigate(url.toString());
  });
  window.addEventListener('popstate', () => void render(true));
  void render(false);
}

/** Draws the current page again (after a shopper switch). */
export function refresh(): void {
  void render(false);
}
