export * from './constants.js';
export * from './kubevirt.js';
export * from './schema/annotations.js';
export * from './schema/common.js';
export * from './schema/endpoint.js';
export * from './schema/ippool.js';
export * from './schema/reservedip.js';
export * from './schema/subnet.js';
