// The project's one image as an OCI archive, made without a registry or a container daemon: the two
// executables of `npm run build` and the glibc files they load (Bun's executables link glibc
// dynamically) are staged in a folder, GNU tar makes the layer, umoci (Debian's package) builds the
// OCI image layout around it, and GNU tar packs the layout into an archive. Every timestamp is
// pinned to SOURCE_DATE_EPOCH (default 0), tar sorts its entries and umoci's gzip has no timestamp,
// so the same inputs give the same digest and the same archive bytes.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { imageCommands } from '../api/install/names.js';
import { operatorExecutable, pluginExecutable, repoRoot } from './executables.js';

/** The repository the manifests name by default (cdk8s/values/schema.ts). */
export const imageRepository = 'ghcr.io/spiderpool-ts/spiderpool-ts';

export interface ImageBuild {
  /** The OCI archive. */
  archive: string;
  /** `sha256:<hex>` of the image manifest: what a registry and containerd call the image. */
  digest: string;
  /** The tag in the archive's index (`org.opencontainers.image.ref.name`). */
  tag: string;
  bytes: number;
}

/**
 * The shared objects an executable loads, as absolute paths, from `ldd`'s output: `name => path
 * (addr)` lines and the loader's own `path (addr)` line; the kernel's vdso has no file.
 */
export function lddPaths(output: string): string[] {
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match?.[1]) paths.add(match[1]);
  }
  return [...paths].sort();
}

/** The RFC 3339 time umoci writes into the config and history. */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

function run(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${bin} is not installed (apt-get install umoci; .ci/run installs it)`);
    }
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** What goes into a one-layer image. */
export interface ImageSpec {
  /** Path in the image -> file on this machine. */
  files: Record<string, string>;
  /** Also copy the shared objects each file loads (`ldd`), at the paths it loads them from. */
  withLibraries: boolean;
  entrypoint: string[];
  /** The tag in the archive's index (`org.opencontainers.image.ref.name`). */
  tag: string;
  /** Where the OCI archive goes. */
  out: string;
  labels?: Record<string, string>;
  /** Seconds since 1970 for every timestamp (default SOURCE_DATE_EPOCH, else 0). */
  epoch?: number;
}

/** The folder that becomes the image's only layer. */
function stageRootfs(rootfs: string, spec: ImageSpec): void {
  const libraries = new Set<string>();
  for (const [target, source] of Object.entries(spec.files)) {
    statSync(source); // a clear ENOENT naming the file when it has not been built
    const dest = join(rootfs, target);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(source, dest);
    chmodSync(dest, 0o755);
    if (spec.withLibraries) for (const lib of lddPaths(run('ldd', [source]))) libraries.add(lib);
  }
  // Each library at the path the executable asks for, as a file (the host's may be a symlink).
  for (const lib of libraries) {
    const dest = join(rootfs, lib);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(lib, dest);
    chmodSync(dest, 0o755);
  }
  // Writable scratch space, as in any base image.
  mkdirSync(join(rootfs, 'tmp'));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
}

/** GNU tar options that make the same archive from the same files: order, times, owners. */
function reproducibleTar(epoch: number): string[] {
  return [
    '--sort=name',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
  ];
}

/**
 * Builds a one-layer image: GNU tar writes the layer from a staged folder, umoci adds it to a fresh
 * OCI layout and writes the config, GNU tar packs the layout into the OCI archive.
 */
export function buildOciArchive(spec: ImageSpec): ImageBuild {
  const epoch = spec.epoch ?? Number(process.env.SOURCE_DATE_EPOCH ?? 0);
  const work = mkdtempSync(join(tmpdir(), 'spiderpool-ts-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    const layout = join(work, 'layout');
    const layer = join(work, 'layer.tar');
    stageRootfs(rootfs, spec);
    run('tar', ['--create', '--file', layer, '--directory', rootfs, ...reproducibleTar(epoch), '.']);
    const created = rfc3339(epoch);
    const image = `${layout}:${spec.tag}`;
    const history = ['--history.created', created, '--history.created_by', 'npm run image'];
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', image]);
    run('umoci', ['raw', 'add-layer', '--image', image, ...history, layer]);
    run('umoci', [
      'config',
      '--image',
      image,
      '--created',
      created,
      '--no-history',
      ...spec.entrypoint.flatMap((arg) => ['--config.entrypoint', arg]),
      '--config.user',
      '0',
      ...Object.entries(spec.labels ?? {}).flatMap(([k, v]) => ['--config.label', `${k}=${v}`]),
    ]);
    run('umoci', ['gc', '--layout', layout]);
    mkdirSync(dirname(spec.out), { recursive: true });
    run('tar', ['--create', '--file', spec.out, '--directory', layout, ...reproducibleTar(epoch), '.']);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    const manifest = index.manifests.find(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === spec.tag,
    );
    if (!manifest) throw new Error(`umoci wrote no manifest tagged ${spec.tag} into index.json`);
    return { archive: spec.out, digest: manifest.digest, tag: spec.tag, bytes: statSync(spec.out).size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The project's image: both executables and glibc, the operator as entrypoint. */
export function buildImage(opts: { tag?: string; out?: string; epoch?: number } = {}): ImageBuild {
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
  const tag = opts.tag ?? version;
  return buildOciArchive({
    files: { [imageCommands.plugin]: pluginExecutable, [imageCommands.operator]: operatorExecutable },
    withLibraries: true,
    entrypoint: [imageCommands.operator],
    tag,
    out: opts.out ?? join(repoRoot, 'dist', 'image', `spiderpool-ts-${tag}.oci.tar`),
    labels: {
      'org.opencontainers.image.title': 'spiderpool-ts',
      'org.opencontainers.image.version': version,
    },
    ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
  });
}
