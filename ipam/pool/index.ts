export * from './free.js';
export * from './space.js';
export * from './usage.js';
