// The error an operator control must throw: an LbError with this code and a message matching `re`.
import { expect } from 'vitest';
import { LbError } from '../../apps/lb/control.js';

export function expectLbError(fn: () => unknown, code: LbError['code'], re: RegExp): LbError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LbError);
  expect((err as LbError).code).toBe(code);
  expect((err as LbError).message).toMatch(re);
  return err as LbError;
}
