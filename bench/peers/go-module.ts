// The benchmark peers' own files (their CRDs) from the Go module cache: the module the tools module
// pins, downloaded (a no-op once `go build` has fetched it) and located with `go mod download -json`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { moduleVersion, repoRoot, type ToolModuleName, toolModules } from '../../test/harness/binaries.js';
import { applyCrds } from '../../test/harness/crds.js';

/** The folder of `module` at the version the tools module `name` pins. */
export function moduleSource(name: ToolModuleName, module: string): string {
  const run = spawnSync('go', ['mod', 'download', '-json', `${module}@${moduleVersion(name)}`], {
    cwd: join(repoRoot, 'test', 'infra', 'go', toolModules[name].dir),
    env: {
      ...process.env,
      GOFLAGS: '-mod=mod',
      ...(toolModules[name] as { env?: Record<string, string> }).env,
    },
    encoding: 'utf8',
  });
  const dir = run.status === 0 ? (JSON.parse(run.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir) throw new Error(`go mod download ${module}@${moduleVersion(name)} failed: ${run.stderr}`);
  return dir;
}

/** Applies the CustomResourceDefinitions in `files` (YAML, one or more documents each). */
export async function applyCrdFiles(admin: KubeConfig, files: string[]): Promise<void> {
  const crds = files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: unknown } | null)
      .filter((d) => d?.kind === 'CustomResourceDefinition')
      .map((d) => ({ name: d?.metadata?.name ?? '', spec: d?.spec })),
  );
  await applyCrds(admin, crds);
}
