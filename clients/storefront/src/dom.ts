// DOM helpers: h() builds elements from tag, attributes and children
// (text is always text: nothing is parsed as HTML, so no markup can come
// in from data), plus a few small shared bits (announce, status lines).

export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (event: never) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

/**
 * An element: `h('button', { type: 'button', onclick: go, 'data-testid': 'pay' }, 'Pay')`.
 * `on*` functions become listeners; `true` is an empty attribute, `false`,
 * null and undefined are left out; `value` and `checked` are set as
 * properties.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
    } else if (name === 'value' || name === 'checked') {
      (element as unknown as Record<string, unknown>)[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (nested arrays flattened, empty ones skipped). */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Says `message` to screen readers (the page's polite live region). */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // A change of text is what gets read: clear first, so a repeat is read too.
  region.textContent = '';
  window.setTimeout(() => (region.textContent = message), 50);
}

/** A loading line, read out politely. */
export function loading(what: string): HTMLElement {
  return h('p', { class: 'status', role: 'status' }, `Loading ${what}…`);
}

/** A notice: `error` is read out at once (role=alert), the others politely. */
export function notice(kind: 'error' | 'success' | 'info' | 'warning', ...children: Child[]): HTMLElement {
  return h(
    'div',
    { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': `notice-${kind}` },
    ...children,
  );
}

/** A random key for a mutation's idempotencyKey (one per attempt the shopper makes). */
export function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `shop-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
