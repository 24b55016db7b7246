import assert from 'node:assert/strict';
import type { ExecuteResult } from '../src/client.js';

/** The data of a response that must have no errors. */
export function ok<T>(result: ExecuteResult<T>): T {
  assert.equal(result.errors, undefined, `unexpected errors: ${JSON.stringify(result.errors)}`);
  assert.equal(result.status, 200);
  assert.ok(result.data, 'no data');
  return result.data;
}

/** A payload whose userErrors must be empty. */
export function noUserErrors<P extends { userErrors: unknown[] }>(payload: P): P {
  assert.deepEqual(payload.userErrors, [], `unexpected userErrors: ${JSON.stringify(payload.userErrors)}`);
  return payload;
}

/** A Money value: a string of decimal digits, as BigInt. */
export function money(value: string | null | undefined): bigint {
  assert.equal(typeof value, 'string', `Money must be a string: ${JSON.stringify(value)}`);
  assert.match(value as string, /^(0|[1-9][0-9]*)$/, 'Money is a string of decimal digits');
  return BigInt(value as string);
}

/** A DateTime value: an RFC 3339 string with an offset, as a Date. */
export function dateTime(value: string | null | undefined): Date {
  assert.equal(typeof value, 'string', `DateTime must be a string: ${JSON.stringify(value)}`);
  assert.match(value as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, 'RFC 3339');
  const date = new Date(value as string);
  assert.ok(!Number.isNaN(date.getTime()), `${value} parses as a date`);
  return date;
}

/** The code of a response's first top-level error. */
export function errorCode(result: ExecuteResult<unknown>): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}

/** A run-unique suffix, so that names and users never collide across runs. */
export const run = `${process.pid}${Date.now().toString(36)}`;
