// `spiderpool probe --netns <path> --ifname <name> [--tries N] [--timeout-ms N] <address>...`
// Enters the network namespace (this process only), probes each address and prints
// `{"results": [{"address", "conflict", "mac"?}]}`. Exit 0 when every probe ran, conflict or not;
// exit 1 with `{"error": "..."}` when a probe could not run.
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Libc } from './linux.js';
import { type ProbeResult, probeAddress, probeDefaults } from './probe.js';

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name}: ${JSON.stringify(value)} is not a positive integer`);
  return n;
}

export async function runProbeCommand(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        netns: { type: 'string' },
        ifname: { type: 'string' },
        tries: { type: 'string' },
        'timeout-ms': { type: 'string' },
      },
      allowPositionals: true,
    });
    if (!values.netns) throw new Error('--netns: missing');
    if (!values.ifname) throw new Error('--ifname: missing');
    if (positionals.length === 0) throw new Error('no address to probe');
    const opts = {
      tries: positiveInteger('tries', values.tries, probeDefaults.tries),
      timeoutMs: positiveInteger('timeout-ms', values['timeout-ms'], probeDefaults.timeoutMs),
    };
    const libc = await Libc.load();
    libc.enterNetns(values.netns);
    const results: ProbeResult[] = [];
    for (const address of positionals)
      results.push(probeAddress(libc, values.ifname, address.split('/')[0] ?? '', opts));
    writeSync(1, `${JSON.stringify({ results })}\n`);
    return 0;
  } catch (err) {
    writeSync(1, `${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
    return 1;
  }
}
