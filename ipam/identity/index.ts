export * from './identity.js';
export * from './migration.js';
export * from './owners.js';
export * from './validity.js';
