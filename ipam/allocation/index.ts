export * from './allocate.js';
export * from './for-identity.js';
export type { PoolStatusUpdate } from './pool-state.js';
export * from './reassign.js';
export * from './release.js';
