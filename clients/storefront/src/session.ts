// Who is shopping: one of the configured shoppers (the header's switch),
// remembered in localStorage under `shop:shopper`, the first by default;
// none when the configuration has none (the catalog still works).
import { config, type Shopper } from './config.js';

const KEY = 'shop:shopper';
const listeners = new Set<(shopper: Shopper | null) => void>();

function stored(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage may be off (private modes, policies)
  }
}

let current: Shopper | null =
  config.shoppers.find((s) => s.subject === stored()) ?? config.shoppers[0] ?? null;

/** The shopper the shop acts as now, or null. */
export function shopper(): Shopper | null {
  return current;
}

/** Switches to the shopper with this subject, remembers it, and tells the listeners. */
export function switchShopper(subject: string): void {
  const next = config.shoppers.find((s) => s.subject === subject);
  if (!next || next === current) return;
  current = next;
  try {
    localStorage.setItem(KEY, subject);
  } catch {
    // not remembered; still switched
  }
  for (const listener of listeners) listener(current);
}

/** Calls `listener` on every switch; returns how to stop. */
export function onShopperChange(listener: (shopper: Shopper | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Another window switched: follow it, so two windows of one browser agree.
// (Two shoppers at once: two browsers, or a private window.)
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key === KEY && event.newValue) switchShopper(event.newValue);
  });
}
