export * from './sort.js';
