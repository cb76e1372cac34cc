export * from './args.js';
export * from './config.js';
export * from './env.js';
export * from './errors.js';
export * from './result.js';
export * from './validate.js';
export * from './versions.js';
