// Coupon campaigns: the list (newest first, optionally only those open
// now), and a campaign's page: its discount and window, the count left,
// live from couponUpdated (as a rush takes them), and a Claim button with
// its outcome (issued, already issued, sold out, not open).
import { request } from '../api.js';
import { announce, h, loading, notice, replace } from '../dom.js';
import { describe, userErrorText } from '../errors.js';
import { dateTime, discount, plural } from '../format.js';
import { stateText, watch } from '../live.js';
import { path, type PageContext } from '../router.js';
import { shopper } from '../session.js';
import { loadFailed } from './common.js';
import {
  CampaignQuery,
  CampaignsQuery,
  ClaimCouponMutation,
  CouponUpdatedSubscription,
  ViewerCouponsQuery,
} from '../../../typescript/src/operations.js';
import type { CouponFieldsFragment } from '../../../typescript/src/gql/graphql.js';

/** Whether a campaign's window holds now. */
function open(coupon: CouponFieldsFragment, now = Date.now()): boolean {
  return new Date(coupon.validFrom).getTime() <= now && (!coupon.validUntil || new Date(coupon.validUntil).getTime() > now);
}

function windowText(coupon: CouponFieldsFragment): string {
  const now = Date.now();
  if (new Date(coupon.validFrom).getTime() > now) return `Opens ${dateTime(coupon.validFrom)}`;
  if (coupon.validUntil && new Date(coupon.validUntil).getTime() <= now) return `Ended ${dateTime(coupon.validUntil)}`;
  return coupon.validUntil ? `Until ${dateTime(coupon.validUntil)}` : 'No end date';
}

export async function couponsPage(context: PageContext): Promise<void> {
  const { main, url, signal } = context;
  context.title('Coupons');
  const openOnly = url.searchParams.get('open') === '1';
  const list = h('div');
  const filter = h('input', { type: 'checkbox', id: 'coupons-open', checked: openOnly });
  filter.addEventListener('change', () => {
    const next = new URL(location.href);
    if (filter.checked) next.searchParams.set('open', '1');
    else next.searchParams.delete('open');
    history.replaceState(null, '', next);
    void load(filter.checked, undefined);
  });
  main.append(
    h('h1', null, 'Coupon campaigns'),
    h('p', null, 'Limited coupons, first come first served, one per shopper. Claim one, then choose it on an order’s payment page.'),
    h('div', { class: 'field check' }, filter, h('label', { for: 'coupons-open' }, 'Only campaigns open now')),
    list,
  );
  const ul = h('ul', { class: 'grid', 'data-testid': 'campaign-list' });
  const load = async (availableOnly: boolean, after: string | undefined) => {
    if (!after) replace(list, loading('the campaigns'));
    try {
      const { coupons } = await request(CampaignsQuery, { first: 20, after, availableOnly });
      if (signal.aborted) return;
      if (!after) {
        ul.replaceChildren();
        replace(
          list,
          coupons.totalCount === 0 ? notice('info', availableOnly ? 'No campaign is open now.' : 'No campaigns yet.') : ul,
        );
      }
      for (const coupon of coupons.nodes) {
        ul.append(
          h(
            'li',
            { class: 'card', 'data-testid': 'campaign-card' },
            h('h2', { class: 'h3' }, h('a', { href: path('coupons', coupon.id) }, coupon.name)),
            h('p', { class: 'price' }, discount(coupon.discountType, coupon.discountValue)),
            h('p', null, coupon.remainingQuantity > 0 ? `${plural(coupon.remainingQuantity, 'coupon')} left of ${coupon.totalQuantity.toLocaleString()}` : 'Sold out'),
            h('p', { class: 'hint' }, windowText(coupon)),
          ),
        );
      }
      list.querySelector('.more')?.remove();
      if (coupons.pageInfo.hasNextPage && coupons.pageInfo.endCursor) {
        const cursor = coupons.pageInfo.endCursor;
        list.append(h('button', { type: 'button', class: 'secondary more', onclick: () => void load(availableOnly, cursor) }, 'Show more campaigns'));
      }
    } catch (error) {
      if (!signal.aborted) replace(list, loadFailed(error, () => void load(availableOnly, after)));
    }
  };
  await load(openOnly, undefined);
}

export async function campaignPage(context: PageContext): Promise<void> {
  const { main, signal } = context;
  const [couponId = ''] = context.params;
  context.title('Coupon');
  replace(main, loading('the campaign'));

  let coupon: CouponFieldsFragment | null;
  try {
    coupon = (await request(CampaignQuery, { id: couponId })).coupon ?? null;
  } catch (error) {
    if (!signal.aborted) replace(main, h('h1', null, 'Coupon'), loadFailed(error, () => void campaignPage(context)));
    return;
  }
  if (signal.aborted) return;
  if (!coupon) {
    replace(main, h('h1', null, 'No such campaign'), notice('info', h('p', null, h('a', { href: path('coupons') }, 'See every campaign'))));
    return;
  }
  context.title(coupon.name);

  const remaining = h('span', { class: 'remaining', 'data-testid': 'coupon-remaining' });
  const meter = h('meter', { min: 0, id: 'coupon-meter', 'aria-labelledby': 'coupon-meter-label' });
  // The visible count changes up to 5 times a second in a rush; screen
  // readers hear it at most every 5 s, and at once when it sells out.
  const spoken = h('p', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
  let lastSpoken = 0;
  const liveState = h('span', { 'data-testid': 'live-state' }, stateText('connecting'));
  const claim = h('button', { type: 'button', class: 'primary', 'data-testid': 'claim' }, 'Claim a coupon');
  const outcome = h('div', { class: 'outcome', 'data-testid': 'claim-outcome' });
  const holding = h('div', { 'data-testid': 'coupon-held' });
  let held = false;
  let claiming = false;

  const drawCount = (c: CouponFieldsFragment) => {
    coupon = c;
    remaining.textContent = c.remainingQuantity.toLocaleString();
    meter.max = c.totalQuantity;
    meter.value = c.remainingQuantity;
    meter.low = Math.ceil(c.totalQuantity * 0.1);
    meter.textContent = `${c.remainingQuantity} of ${c.totalQuantity}`;
    const soldOut = c.remainingQuantity === 0;
    claim.disabled = soldOut || held || claiming || !open(c) || !shopper();
    claim.textContent = held ? 'Claimed' : soldOut ? 'Sold out' : claiming ? 'Claiming…' : 'Claim a coupon';
    if (claiming) claim.setAttribute('aria-busy', 'true');
    else claim.removeAttribute('aria-busy');
    const now = Date.now();
    if (soldOut || now - lastSpoken > 5000) {
      lastSpoken = now;
      spoken.textContent = soldOut ? 'Sold out.' : `${plural(c.remainingQuantity, 'coupon')} left.`;
    }
  };

  const drawHeld = (status: string | null) => {
    held = status !== null;
    replace(
      holding,
      status === null
        ? null
        : notice(
            'success',
            status === 'AVAILABLE'
              ? h('p', null, 'You hold a coupon of this campaign. Choose it on an order’s payment page.')
              : h('p', null, status === 'USED' ? 'You used your coupon of this campaign.' : 'Your coupon of this campaign has expired.'),
          ),
    );
    if (coupon) drawCount(coupon);
  };

  claim.addEventListener('click', async () => {
    if (!coupon || claiming) return;
    claiming = true;
    drawCount(coupon);
    try {
      const { issueCoupon } = await request(ClaimCouponMutation, { input: { couponId } });
      claiming = false;
      if (issueCoupon.userCoupon && issueCoupon.userErrors.length === 0) {
        replace(outcome, notice('success', h('p', { 'data-outcome': 'issued' }, `It’s yours: ${discount(coupon.discountType, coupon.discountValue)} one order. Choose it when you pay.`)));
        drawHeld(issueCoupon.userCoupon.status);
        drawCount(issueCoupon.userCoupon.coupon);
        announce('Coupon claimed.');
      } else {
        const code = issueCoupon.userErrors[0]?.code;
        replace(
          outcome,
          notice(
            code === 'COUPON_ALREADY_ISSUED' ? 'info' : 'error',
            h('p', { 'data-outcome': code === 'COUPON_ALREADY_ISSUED' ? 'already-issued' : code === 'COUPON_OUT_OF_STOCK' ? 'sold-out' : 'refused' }, issueCoupon.userErrors.map(userErrorText).join(' ')),
          ),
        );
        if (code === 'COUPON_ALREADY_ISSUED') held = true;
        if (code === 'COUPON_OUT_OF_STOCK') drawCount({ ...coupon, remainingQuantity: 0, issuedQuantity: coupon.totalQuantity });
        else drawCount(coupon);
      }
    } catch (error) {
      claiming = false;
      replace(outcome, notice('error', describe(error)));
      drawCount(coupon);
    }
  });

  const readHeld = async () => {
    if (!shopper()) return;
    try {
      const { viewer } = await request(ViewerCouponsQuery, { first: 100 });
      if (signal.aborted) return;
      const mine = viewer.coupons.nodes.find((c) => c.coupon.id === couponId);
      drawHeld(mine?.status ?? null);
    } catch {
      // Claim answers COUPON_ALREADY_ISSUED should this be unknown.
    }
  };

  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: path('coupons') }, '← Coupons')),
    h(
      'article',
      { class: 'campaign', 'data-testid': 'campaign' },
      h('h1', null, coupon.name),
      h('p', { class: 'price big' }, discount(coupon.discountType, coupon.discountValue), h('span', { class: 'hint' }, ' one order')),
      h('p', { class: 'hint' }, windowText(coupon), ' · one per shopper, first come first served'),
      h(
        'div',
        { class: 'panel counter' },
        h('p', { id: 'coupon-meter-label' }, remaining, ` left of ${coupon.totalQuantity.toLocaleString()}`),
        meter,
        spoken,
        h('p', { class: 'hint live' }, 'Updates: ', liveState),
      ),
      holding,
      shopper() ? h('div', { class: 'actions' }, claim) : notice('info', 'Choose a shopper in the header to claim a coupon.'),
      outcome,
    ),
  );
  drawCount(coupon);
  await readHeld();
  if (signal.aborted) return;

  context.onLeave(
    watch(CouponUpdatedSubscription, { couponId }, {
      next: ({ couponUpdated }) => {
        if (!signal.aborted) drawCount(couponUpdated);
      },
      error: (message) => (liveState.textContent = `Off (${message})`),
      complete: () => {
        liveState.textContent = coupon?.remainingQuantity === 0 ? 'Sold out: no more updates' : 'Ended';
      },
      reconnected: async () => {
        try {
          const fresh = (await request(CampaignQuery, { id: couponId })).coupon;
          if (fresh && !signal.aborted) drawCount(fresh);
        } catch {
          // the stream's first message brings it too
        }
      },
      state: (state) => {
        if (!liveState.textContent?.startsWith('Sold out')) liveState.textContent = stateText(state);
      },
    }),
  );
}
