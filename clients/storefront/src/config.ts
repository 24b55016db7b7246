// The configuration the server puts in the page (<script
// type="application/json" id="shop-config">, in place of
// <!--SHOP_CONFIG--> in index.html): where the API is and, in
// development, the demo shoppers' tokens. Optional `currency` (ISO 4217)
// and `locale` change how money and dates are shown.

export interface Shopper {
  /** What the switch shows: "Ada". */
  name: string;
  /** The token's subject: "shopper-ada". */
  subject: string;
  /** The Authorization header: "Bearer eyJ...". */
  authorization: string;
}

export interface ShopConfig {
  /** The GraphQL endpoint, relative to the page or absolute: "/graphql". */
  graphql: string;
  /** The shoppers of the user switch; none: the shop is browsed anonymously. */
  shoppers: Shopper[];
  /** The store currency (ISO 4217, e.g. "EUR"); none: amounts are plain numbers. */
  currency?: string;
  /** The locale of numbers and dates; the browser's by default. */
  locale?: string;
}

const DEFAULTS: ShopConfig = { graphql: '/graphql', shoppers: [] };

function isShopper(value: unknown): value is Shopper {
  const s = value as Shopper;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.name === 'string' &&
    typeof s.subject === 'string' &&
    typeof s.authorization === 'string'
  );
}

/** Reads the page's configuration; a missing or broken one gives the defaults (and says so in the console). */
export function readConfig(doc: Document = document): ShopConfig {
  const element = doc.getElementById('shop-config');
  if (!element?.textContent) return DEFAULTS;
  try {
    const raw = JSON.parse(element.textContent) as Partial<ShopConfig>;
    return {
      graphql: typeof raw.graphql === 'string' && raw.graphql ? raw.graphql : DEFAULTS.graphql,
      shoppers: Array.isArray(raw.shoppers) ? raw.shoppers.filter(isShopper) : [],
      currency: typeof raw.currency === 'string' ? raw.currency : undefined,
      locale: typeof raw.locale === 'string' ? raw.locale : undefined,
    };
  } catch {
    console.warn('shop-config is not JSON: using the defaults');
    return DEFAULTS;
  }
}

export const config: ShopConfig = readConfig();
