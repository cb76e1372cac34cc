// Kept only for test/integration/operator/fixtures/ipam-world.ts, whose re-implemented write path is
// being removed on another branch; delete this barrel with it (nothing else imports it).
export * from './allocate.js';
export * from './for-identity.js';
export type { PoolStatusUpdate } from './pool-state.js';
export * from './reassign.js';
export * from './release.js';
