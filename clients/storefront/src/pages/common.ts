// Pieces the pages share: the "no shopper" message, an error block with a
// retry, and the user errors of a mutation as a list.
import { config } from '../config.js';
import { h, notice, type Child } from '../dom.js';
import { describe, userErrorText } from '../errors.js';
import { shopper } from '../session.js';
import type { ErrorCode } from '../../../typescript/src/gql/graphql.js';

/** True when someone is shopping; else draws why the page needs a shopper. */
export function requireShopper(main: HTMLElement, heading: string): boolean {
  if (shopper()) return true;
  main.append(
    h('h1', null, heading),
    notice(
      'info',
      config.shoppers.length === 0
        ? 'This page needs a signed-in shopper, and this shop has none configured: the server gives the demo shoppers in development.'
        : 'Choose a shopper in the header.',
    ),
  );
  return false;
}

/** A failure to load, in plain words, with a button that tries again. */
export function loadFailed(error: unknown, retry: () => void): HTMLElement {
  return notice(
    'error',
    h('p', null, describe(error)),
    h('button', { type: 'button', class: 'secondary', onclick: retry }, 'Try again'),
  );
}

export interface UserErrorLike {
  code: ErrorCode;
  message: string;
  field?: string[] | null;
}

/** A mutation's refusals, one plain sentence each. */
export function userErrors(errors: readonly UserErrorLike[], ...after: Child[]): HTMLElement {
  const sentences = [...new Set(errors.map(userErrorText))];
  return notice(
    'error',
    sentences.length === 1 ? h('p', null, sentences[0]) : h('ul', null, sentences.map((s) => h('li', null, s))),
    ...after,
  );
}
