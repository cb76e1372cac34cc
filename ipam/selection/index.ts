export * from './choose.js';
export * from './explain.js';
