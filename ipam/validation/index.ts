export * from './address-spec.js';
export * from './defaults.js';
export * from './field-error.js';
export * from './pool.js';
export * from './reserved-ip.js';
export * from './selectors.js';
export * from './subnet.js';
