// How values are shown: Money (a string of digits in the currency's
// smallest unit, formatted exactly, never through a float), DateTimes
// (RFC 3339), time left, and the number inside a global id.
import { config } from './config.js';

const locale = config.locale ?? (typeof navigator !== 'undefined' ? navigator.language : 'en');

/** Digits after the decimal point of the store currency (0 without one: JPY, KRW, or plain numbers). */
const fractionDigits = config.currency
  ? new Intl.NumberFormat('en', { style: 'currency', currency: config.currency }).resolvedOptions()
      .maximumFractionDigits ?? 0
  : 0;

const moneyFormat = new Intl.NumberFormat(locale, {
  ...(config.currency ? { style: 'currency', currency: config.currency } : {}),
  minimumFractionDigits: fractionDigits,
  maximumFractionDigits: fractionDigits,
});

/** "39000" -> "39,000" (or "€390.00" with currency EUR): exact for any 64-bit amount. */
export function money(amount: string): string {
  if (!/^\d+$/.test(amount)) return amount;
  const digits = amount.replace(/^0+(?=\d)/, '');
  if (fractionDigits === 0) return moneyFormat.format(BigInt(digits));
  const padded = digits.padStart(fractionDigits + 1, '0');
  const decimal = `${padded.slice(0, -fractionDigits)}.${padded.slice(-fractionDigits)}`;
  // Intl formats a decimal string exactly (ES2023); older engines round through a number.
  return moneyFormat.format(decimal as unknown as number);
}

const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const timeFormat = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });

/** An RFC 3339 instant as the shopper reads it: "7 Dec 2025, 15:12". */
export function dateTime(value: string | null | undefined): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTimeFormat.format(date);
}

/** An instant's time of day: "15:12:08". */
export function time(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : timeFormat.format(date);
}

/** A <time> element for an instant. */
export function timeElement(value: string): HTMLTimeElement {
  const element = document.createElement('time');
  element.dateTime = value;
  element.textContent = dateTime(value);
  return element;
}

/** Milliseconds as "1:05:09", "4:59" or "0:07". */
export function duration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/** Milliseconds in words, for screen readers: "4 minutes 59 seconds". */
export function durationWords(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const parts = [];
  if (hours) parts.push(plural(hours, 'hour'));
  if (minutes) parts.push(plural(minutes, 'minute'));
  if (seconds || parts.length === 0) parts.push(plural(seconds, 'second'));
  return parts.join(' ');
}

/** "1 coupon", "3 coupons". */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count.toLocaleString(locale)} ${count === 1 ? noun : nouns}`;
}

/** The number in a global id (base64 of "Order:42" -> "42"), or the id itself. */
export function shortId(id: string): string {
  try {
    const [, number] = atob(id).split(':');
    return number && /^\d+$/.test(number) ? number : id;
  } catch {
    return id;
  }
}

/** A campaign's discount in words: "10% off", "5,000 off". */
export function discount(type: 'FIXED_AMOUNT' | 'PERCENTAGE', value: number): string {
  return type === 'PERCENTAGE' ? `${value}% off` : `${money(String(value))} off`;
}
