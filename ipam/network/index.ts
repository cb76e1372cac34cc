export * from './nic-network.js';
export * from './routes.js';
