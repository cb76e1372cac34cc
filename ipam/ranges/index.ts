export * from './intervals.js';
export * from './spiderpool-ranges.js';
