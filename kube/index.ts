export * from './client.js';
export * from './errors.js';
export * from './kubevirt.js';
export * from './optimistic.js';
export * from './resource.js';
export * from './rest.js';
export * from './spiderpool.js';
export * from './transient.js';
