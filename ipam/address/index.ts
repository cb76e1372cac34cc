export * from './cidr.js';
export * from './ip.js';
