// SHA-256 for the names of coordination scopes, computed by every plugin call, follower or leader.
// Under Bun (the compiled plugin) by Bun's native hasher: importing node:crypto costs each process
// start some 1.9 ms of CPU, over 10 % of a follower's (docs/cni.md, "The CPU budget of a round at
// C = 64"). Under Node (tests, tools) node:crypto, taken when first needed rather than imported.

interface BunHasher {
  update(data: string | Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}

const bun = (globalThis as { Bun?: { CryptoHasher: new (algorithm: string) => BunHasher } }).Bun;

/** The SHA-256 of `data` (UTF-8 when a string), as 64 hex digits. */
export function sha256Hex(data: string | Uint8Array): string {
  if (bun) {
    const hasher = new bun.CryptoHasher('sha256');
    hasher.update(data);
    return hasher.digest('hex');
  }
  const crypto = process.getBuiltinModule('node:crypto');
  return crypto.createHash('sha256').update(data).digest('hex');
}
