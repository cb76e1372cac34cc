export * from './filters.js';
export * from './label-selector.js';
