import { describe, expect, it } from 'vitest';
import { defaultHealth } from '../../../apps/lb/health.js';
import { unversionedHealth } from '../../../db/records.js';

describe('stored records', () => {
  // db/ keeps its own reading of a NULL health column (it may not import the app); today that
  // reading is the app's defaults. Changing either is a decision: this test makes it visible.
  it('reads a service stored before health checks with the app\'s default checks', () => {
    for (const proto of ['tcp', 'udp'] as const) expect(unversionedHealth(proto)).toStrictEqual(defaultHealth(proto));
  });
});
