// Go-built binaries of the test bed (etcd, Kubernetes control plane, KubeVirt's virt-controller).
//
// Each tools module under test/infra/go/<name> pins its versions in a committed go.mod/go.sum. The
// binaries are built once with the Go toolchain and cached outside the repository, keyed by a hash
// of go.mod+go.sum, so a version bump rebuilds and an unchanged module never does.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
const modulesRoot = join(repoRoot, 'test', 'infra', 'go');

interface ToolModule {
  /** Folder under test/infra/go. */
  dir: string;
  /** Go package path -> the name its binary gets in the cache folder. */
  packages: Record<string, string>;
  ldflags?: (version: string) => string;
  /** Extra environment of the build. */
  env?: Record<string, string>;
  /** A benchmark peer: built by `npm run bench` when first needed, not by `npm run testbed:build`. */
  peer?: boolean;
}

const k8sVersionFlags = (version: string): string => {
  const [, major, minor] = /^v(\d+)\.(\d+)/.exec(version) ?? [];
  return [
    `-X k8s.io/component-base/version.gitVersion=${version}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
  ].join(' ');
};

export const toolModules = {
  etcd: { dir: 'etcd', packages: { 'go.etcd.io/etcd/server/v3': 'etcd' } },
  k8s: {
    dir: 'k8s',
    packages: {
      'k8s.io/kubernetes/cmd/kube-apiserver': 'kube-apiserver',
      'k8s.io/kubernetes/cmd/kube-controller-manager': 'kube-controller-manager',
      'k8s.io/kubernetes/cmd/kube-scheduler': 'kube-scheduler',
      'k8s.io/kubernetes/cmd/kubectl': 'kubectl',
      'k8s.io/kubernetes/cmd/kubelet': 'kubelet',
      'k8s.io/kubernetes/cmd/kube-proxy': 'kube-proxy',
    },
    ldflags: k8sVersionFlags,
  },
  kubevirt: {
    dir: 'kubevirt',
    packages: { 'kubevirt.io/kubevirt/cmd/virt-controller': 'virt-controller', './crdgen': 'crdgen' },
  },
  whereabouts: {
    dir: 'whereabouts',
    packages: { 'github.com/k8snetworkplumbingwg/whereabouts/cmd': 'whereabouts' },
    peer: true,
  },
  spiderpool: {
    dir: 'spiderpool',
    packages: {
      'github.com/spidernet-io/spiderpool/cmd/spiderpool-agent': 'spiderpool-agent',
      'github.com/spidernet-io/spiderpool/cmd/spiderpool': 'spiderpool',
    },
    // The checksum database has no entry for github.com/tigera/operator v1.33.0 (a dependency).
    env: { GONOSUMDB: 'github.com/tigera' },
    peer: true,
  },
} satisfies Record<string, ToolModule>;

export type ToolModuleName = keyof typeof toolModules;

/** The modules `npm run testbed:build` builds: every one but the benchmark peers. */
export const testBedModules = (Object.keys(toolModules) as ToolModuleName[]).filter(
  (name) => !(toolModules[name] as ToolModule).peer,
);

export function cacheRoot(): string {
  return process.env.SPIDERPOOL_TS_CACHE ?? join(homedir(), '.cache', 'spiderpool-ts');
}

/** The release a tools module pins, e.g. v1.34.2. */
export function moduleVersion(name: ToolModuleName): string {
  return readFileSync(join(modulesRoot, toolModules[name].dir, 'VERSION'), 'utf8').trim();
}

/** Cache folder of a module's binaries: changes whenever go.mod or go.sum change. */
export function binaryDir(name: ToolModuleName): string {
  const mod: ToolModule = toolModules[name];
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(join(modulesRoot, mod.dir, file)));
  return join(cacheRoot(), 'bin', `${name}-${moduleVersion(name)}-${hash.digest('hex').slice(0, 12)}`);
}

/**
 * The file name `go build -o dir/` gives a main package's binary: the last element of its import
 * path that is not a major-version suffix v2, v3, ... (go.etcd.io/etcd/server/v3 -> server; v0 and v1
 * are never suffixes, as in cmd/go's DefaultExecName).
 */
export function goBinaryName(pkg: string): string {
  const parts = pkg.split('/').filter((p) => p !== '' && p !== '.');
  const last = parts.at(-1) ?? pkg;
  return /^v(?!0)(?!1$)\d+$/.test(last) && parts.length > 1 ? (parts.at(-2) as string) : last;
}

function isComplete(name: ToolModuleName, dir: string): boolean {
  const mod: ToolModule = toolModules[name];
  return Object.values(mod.packages).every((bin) => existsSync(join(dir, bin)));
}

/**
 * Builds a module's binaries unless the cache already holds them; returns their folder.
 * Builds go to a temporary folder renamed into place, so a killed build never leaves a cache entry
 * that looks complete, and two concurrent builds cannot corrupt each other.
 */
export function ensureBinaries(name: ToolModuleName, log: (line: string) => void = () => {}): string {
  const dir = binaryDir(name);
  if (isComplete(name, dir)) return dir;
  const mod: ToolModule = toolModules[name];
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  log(`building ${name} ${moduleVersion(name)} into ${dir} (first run only; several minutes cold)`);
  const ldflags = ['-s', '-w', mod.ldflags?.(moduleVersion(name)) ?? ''].join(' ').trim();
  const result = spawnSync(
    'go',
    ['build', '-trimpath', '-ldflags', ldflags, '-o', `${tmp}/`, ...Object.keys(mod.packages)],
    {
      cwd: join(modulesRoot, mod.dir),
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', ...mod.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (result.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `go build of ${name} failed (exit ${result.status ?? result.signal}); see the output above`,
    );
  }
  for (const [pkg, bin] of Object.entries(mod.packages)) {
    const built = goBinaryName(pkg);
    if (built !== bin) renameSync(join(tmp, built), join(tmp, bin));
  }
  if (!isComplete(name, tmp)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`go build of ${name} did not produce ${Object.values(mod.packages).join(', ')}`);
  }
  if (!isComplete(name, dir)) {
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } else {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`built ${name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return dir;
}

/** `major.minor` of a Kubernetes version string such as v1.34.2 or v1.32.4-dispatcher. */
export function minorOf(version: string): string | undefined {
  return /^v?(\d+\.\d+)\./.exec(version.trim())?.[1];
}

function kubectlOnPath(): string | undefined {
  try {
    const out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return (JSON.parse(out) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
  } catch {
    return undefined;
  }
}

/**
 * The kubectl the tests run: one on PATH when it has the API server's minor version (kubectl
 * supports one minor of skew either way, and the tests check printed columns that change between
 * minors), else the one built from the test bed's own Kubernetes module.
 */
export function kubectlBinary(log: (line: string) => void = () => {}): string {
  const onPath = kubectlOnPath();
  if (onPath && minorOf(onPath) === minorOf(moduleVersion('k8s'))) return 'kubectl';
  return join(ensureBinaries('k8s', log), 'kubectl');
}
