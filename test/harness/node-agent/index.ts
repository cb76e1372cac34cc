export { type MigrationOutcome, NodeAgent, type NodeAgentOptions } from './agent.js';
export { interfaceNotLiveMigratable, liveMigratableCondition } from './migratable.js';
export { type NetworkStatus, parseNadConfig, planAttachments } from './multus.js';
