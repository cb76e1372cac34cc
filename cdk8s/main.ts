// `npm run synth`: resolve values, write dist/manifests/*.yaml (after removing what a previous run
// left) and refresh crds/. Errors (bad flags, unknown keys, bad values) go to stderr with exit code 1.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildInstallation } from './app.js';
import { parseSynthArgs, usage } from './cli.js';
import { crdFiles } from './crd-files.js';
import { resolveValues, ValuesError } from './values/resolve.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function readValuesFile(path: string): { source: string; content: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValuesError(`values file ${path}: ${(err as Error).message}`);
  }
  try {
    return { source: path, content: parse(text) };
  } catch (err) {
    throw new ValuesError(`values file ${path}: not valid YAML: ${(err as Error).message}`);
  }
}

/** Replaces the CRD files in `dir`, removing CRD files that no longer exist. */
function writeCrds(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = crdFiles();
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.yaml') && !files.has(name)) rmSync(join(dir, name));
  }
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
  return [...files.keys()];
}

function main(argv: string[]): void {
  const args = parseSynthArgs(argv);
  if (args.help) {
    console.log(usage);
    return;
  }
  const values = resolveValues({
    version: packageVersion(),
    files: args.valuesFiles.map(readValuesFile),
    sets: args.sets,
  });
  // Only our own files go: a mistyped --output must not wipe a folder.
  if (existsSync(args.outputDir)) {
    for (const name of readdirSync(args.outputDir)) {
      if (name.endsWith('.k8s.yaml')) rmSync(join(args.outputDir, name));
    }
  }
  const { app } = buildInstallation(values, { outdir: args.outputDir });
  app.synth();
  const manifests = readdirSync(args.outputDir)
    .filter((n) => n.endsWith('.k8s.yaml'))
    .sort();
  const crds = writeCrds(args.crdsDir);
  console.log(`wrote ${manifests.map((m) => join(args.outputDir, m)).join(', ')}`);
  console.log(`refreshed ${crds.length} CRD files in ${args.crdsDir}/`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`synth: ${message}`);
  if (!(err instanceof ValuesError)) console.error(usage);
  process.exitCode = 1;
}
