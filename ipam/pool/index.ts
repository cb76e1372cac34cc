export * from './free.js';
export * from './space.js';
