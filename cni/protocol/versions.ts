// The CNI spec versions this plugin speaks. 0.3.0 and 0.3.1 share one result format; 0.4.0 adds
// CHECK; 1.0.0 drops `version` from IP entries; 1.1.0 adds GC, STATUS and route attributes.
import { CniError, ErrorCode } from './errors.js';

export const supportedVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof supportedVersions)[number];
export const latestVersion: CniVersion = '1.1.0';

const semver = /^(\d+)\.(\d+)\.(\d+)$/;

/** Compares two `x.y.z` versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = semver.exec(a);
  const pb = semver.exec(b);
  if (!pa || !pb) throw new Error(`not a version: ${pa ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (supportedVersions as readonly string[]).includes(v);
}

/** The config's cniVersion, or a code 1 error naming it (code 6 when it is not a version at all). */
export function requireSupportedVersion(v: unknown): CniVersion {
  if (isSupportedVersion(v)) return v;
  if (v === undefined) {
    // libcni reads a configuration without cniVersion as 0.1.0, which has no result format here.
    throw new CniError(
      ErrorCode.incompatibleVersion,
      `cniVersion: missing (that means 0.1.0); supported versions are ${supportedVersions.join(', ')}`,
    );
  }
  if (typeof v !== 'string' || !semver.test(v)) {
    throw new CniError(
      ErrorCode.decodeFailure,
      `cniVersion: ${JSON.stringify(v)} is not a version of the form x.y.z`,
    );
  }
  throw new CniError(
    ErrorCode.incompatibleVersion,
    `cniVersion: ${v} is not supported; supported versions are ${supportedVersions.join(', ')}`,
    `supported: ${supportedVersions.join(',')}`,
  );
}

/** The lowest config version each verb needs (the spec's and libcni's rules). */
export const minimumVersionFor: Record<string, CniVersion> = {
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
};

/** VERSION's output: the spec version of this reply and every version the plugin supports. */
export function versionInfo(requested?: string): { cniVersion: string; supportedVersions: string[] } {
  return {
    cniVersion: isSupportedVersion(requested) ? requested : latestVersion,
    supportedVersions: [...supportedVersions],
  };
}
