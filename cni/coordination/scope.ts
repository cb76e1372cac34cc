// Names of coordination scopes. Linux abstract unix socket names live per network namespace (CNI
// plugins run in the host's), vanish when the listening process dies (no stale lock files), and are
// limited to 107 bytes, so a scope is a hash of what must separate leaders: the node and the API
// server (separate test "nodes" and clusters on one machine never share a leader), plus whatever
// the caller adds (for example a pool). The protocol version keeps binaries of different wire
// formats apart during an upgrade.
import { sha256Hex } from './sha256.js';

export const protocolVersion = 1;

export function scopeName(nodeName: string, apiServer: string, ...more: string[]): string {
  const digest = sha256Hex([nodeName, apiServer, ...more].join('\n')).slice(0, 32);
  return `\0spiderpool/v${protocolVersion}/${digest}`;
}
