// The hash behind every coordination scope's name: standard SHA-256, whatever runtime computes it
// (the compiled plugin uses Bun's hasher, these tests run node:crypto's path; both must name one
// leader alike, and the integration tests check the compiled side against the same scopes).
import { scopeName } from '../../../cni/coordination/scope.js';
import { sha256Hex } from '../../../cni/coordination/sha256.js';

describe('sha256Hex', () => {
  it('gives the published SHA-256 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes bytes and their UTF-8 string alike', () => {
    const text = 'apiVersion: v1\nkind: Config\n# é';
    expect(sha256Hex(Buffer.from(text, 'utf8'))).toBe(sha256Hex(text));
  });
});

describe('scopeName', () => {
  it('is an abstract socket name of the protocol version and 32 hex digits of the inputs', () => {
    const digest = sha256Hex('node-a\nhttps://api:6443').slice(0, 32);
    expect(scopeName('node-a', 'https://api:6443')).toBe(`\0spiderpool/v1/${digest}`);
    expect(scopeName('node-b', 'https://api:6443')).not.toBe(scopeName('node-a', 'https://api:6443'));
  });
});
