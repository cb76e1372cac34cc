// The command line of `npm run synth`: Helm's spelling for values (`--set`, `-f/--values`) plus where
// to write. Pure: main.ts does the reading and writing.
import { parseArgs } from 'node:util';

export interface SynthArgs {
  sets: string[];
  valuesFiles: string[];
  outputDir: string;
  crdsDir: string;
  help: boolean;
}

export const usage = `npm run synth -- [--set key=value[,key=value]]... [-f values.yaml]... [--output dir] [--crds-dir dir]

Writes the installation manifests to dist/manifests/ (stale files removed) and refreshes crds/.
  --set key=value   override one value, e.g. ipam.enableKubevirtStaticIP=false,
                    list entries as multus.networkAttachmentDefinitions[0].master=ens192,
                    string lists as {a,b}
  -f, --values file a YAML values file, merged over the defaults (before any --set)
  --output dir      where the manifests go (default dist/manifests)
  --crds-dir dir    where the CRD files go (default crds)
Values and their defaults: docs/install.md.`;

/** Splits `a=1,b={x,y}` at the commas outside braces, as Helm does. */
export function splitSetList(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '{') depth++;
    if (ch === '}') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.filter((p) => p !== '');
}

export function parseSynthArgs(argv: string[]): SynthArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      set: { type: 'string', multiple: true },
      values: { type: 'string', short: 'f', multiple: true },
      output: { type: 'string' },
      'crds-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    sets: (values.set ?? []).flatMap(splitSetList),
    valuesFiles: values.values ?? [],
    outputDir: values.output ?? 'dist/manifests',
    crdsDir: values['crds-dir'] ?? 'crds',
    help: values.help ?? false,
  };
}
