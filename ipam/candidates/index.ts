export * from './annotations.js';
export * from './candidates.js';
export * from './wildcard.js';
