export { type NetworkStatus, parseNadConfig, planAttachments } from '../multus/delegation.js';
export { type MigrationOutcome, NodeAgent, type NodeAgentOptions } from './agent.js';
export { interfaceNotLiveMigratable, liveMigratableCondition } from './migratable.js';
