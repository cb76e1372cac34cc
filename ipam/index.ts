// The pure IPAM core: plain data in, plain data out; no I/O, no clock, no randomness.
// See README.md for what each module decides.
export * from './address/index.js';
export * from './allocation/index.js';
export * from './candidates/index.js';
export * from './errors.js';
export * from './filter/index.js';
export * from './gc/index.js';
export * from './identity/index.js';
export * from './multus/index.js';
export * from './network/index.js';
export * from './pool/index.js';
export * from './ranges/index.js';
export * from './records/index.js';
export * from './selection/index.js';
export * from './sort/index.js';
export * from './validation/index.js';
