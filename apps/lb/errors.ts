// The load balancer's refusals: what every control method throws on bad input, with the HTTP
// status the management API answers with. Its own module so that the pure parts (health.ts,
// validation.ts) throw it without importing the control surface, which imports them.

export type LbErrorCode = 'invalid' | 'not_found' | 'conflict' | 'unavailable';

export class LbError extends Error {
  constructor(readonly code: LbErrorCode, message: string) {
    super(message);
    this.name = 'LbError';
  }
  get httpStatus(): number {
    switch (this.code) {
      case 'invalid': return 400;
      case 'not_found': return 404;
      case 'conflict': return 409;
      case 'unavailable': return 503;
    }
  }
}
