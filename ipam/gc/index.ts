export * from './migration.js';
export * from './pod.js';
export * from './verdict.js';
