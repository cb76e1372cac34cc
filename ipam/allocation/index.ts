export * from './allocate.js';
export type { PoolStatusUpdate } from './pool-state.js';
export * from './release.js';
