// How the executables are made: Bun's compiler, with bytecode (docs/facts.md#plugin-start: ~24 ms
// per call against ~133 ms for Node with a bundle). `npm run build:cni` and `build:operator` run
// build/cni.ts and build/operator.ts; the test harness and the benchmarks call buildExecutable() for
// the executables and for their own fixtures. Build code: nothing under cni/ or operator/ imports it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectlPluginName } from '../api/install/names.js';
import { installCoordinatorLink } from '../cni/install/coordinator-link.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const pluginEntry = join(repoRoot, 'cni', 'main.ts');
export const pluginExecutable = join(repoRoot, 'dist', 'bin', 'spiderpool');
export const operatorEntry = join(repoRoot, 'operator', 'main.ts');
export const operatorExecutable = join(repoRoot, 'dist', 'bin', 'spiderpool-operator');

/**
 * Links `kubectl-spiderpool` to the operator's executable beside it (a relative link, so the two can
 * be copied together onto PATH): run under that name, the executable is the `spiderpool` command line.
 */
export function linkKubectlPlugin(executable = operatorExecutable): string {
  const link = join(dirname(executable), kubectlPluginName);
  rmSync(link, { force: true });
  symlinkSync(basename(executable), link);
  return link;
}

/** --bytecode forbids top-level await; --format=cjs is what --bytecode supports without code splitting. */
export const bunBuildFlags = ['--compile', '--minify', '--bytecode', '--format=cjs'];

/**
 * The plugin's: ESM with code splitting, so each `import()` becomes a chunk of its own inside the
 * executable, evaluated only when imported. A follower then never loads the leader's modules
 * (@kubernetes/client-node, the batch): in one bundle their mere presence cost each start some 5 ms
 * of CPU, lazily initialised or not (docs/cni.md, "The CPU budget of a round at C = 64").
 */
export const pluginBuildFlags = ['--compile', '--minify', '--bytecode', '--format=esm', '--splitting'];

/**
 * The operator without --bytecode: it starts once and runs for days, so the ~10 ms its start saves
 * are worth nothing, while the bytecode's pages stay resident (10 MiB of the 150 MiB it aims for at
 * 10,000 pods; docs/operator.md, "At scale"). The plugin, started per call, keeps it.
 */
export const operatorBuildFlags = bunBuildFlags.filter((flag) => flag !== '--bytecode');

/**
 * Compiles `entry` to one executable at `outfile`. It is written beside the target and renamed
 * over it, so a concurrent build or a running copy never sees half a file. Bun embeds the output's
 * file name in the executable, so the temporary file has the target's name (in a folder of its
 * own): the same sources then give the same bytes, which the image's digest relies on.
 */
export function buildExecutable(entry = pluginEntry, outfile = pluginExecutable): void {
  mkdirSync(dirname(outfile), { recursive: true });
  const tempDir = join(dirname(outfile), `.build-${process.pid}-${basename(outfile)}`);
  mkdirSync(tempDir, { recursive: true });
  const temp = join(tempDir, basename(outfile));
  const bun = join(repoRoot, 'node_modules', '.bin', 'bun');
  const flags =
    { [pluginEntry]: pluginBuildFlags, [operatorEntry]: operatorBuildFlags }[entry] ?? bunBuildFlags;
  const run = spawnSync(bun, ['build', ...flags, entry, '--outfile', temp], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    rmSync(tempDir, { recursive: true, force: true });
    throw new Error(`bun build ${entry} failed (${run.status ?? run.signal}):\n${run.stderr}${run.stdout}`);
  }
  renameSync(temp, outfile);
  rmSync(tempDir, { recursive: true, force: true });
  if (outfile === pluginExecutable) linkCoordinator();
}

/**
 * dist/bin/coordinator -> spiderpool, as the node installer links it in the CNI bin folder: a
 * conflist that chains `coordinator` (a SpiderMultusConfig's NAD) finds it on CNI_PATH.
 */
export function linkCoordinator(): void {
  installCoordinatorLink(dirname(pluginExecutable), basename(pluginExecutable), () => undefined);
}

/** What the build scripts run: builds, says where, and sets a failing exit code on an error. */
export function buildScript(entry: string, outfile: string): void {
  try {
    buildExecutable(entry, outfile);
    console.log(`built ${outfile}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
