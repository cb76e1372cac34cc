// The `spiderpool` executable: the CNI IPAM plugin, and two subcommands of the same binary:
// `spiderpool install [--watch]` (the node installer), `spiderpool probe ...` (conflict probes
// run inside a pod's network namespace) and `spiderpool lead <spec>` (a lingering node-local leader,
// started by the plugin itself). Compiled by `npm run build:cni` with Bun's --bytecode, which
// forbids top-level await, so everything runs inside main(), and main() catches everything: a CNI
// caller must get a JSON error object on stdout, never a stack trace.
import { fstatSync, readFileSync, writeSync } from 'node:fs';
import { settled } from './coordination/coordinate.js';
import { leadSubcommand, startSuccessors } from './linger/successor.js';
import { runPlugin } from './plugin.js';
import { latestVersion } from './protocol/versions.js';
import { verbs } from './verbs/index.js';

function readStdin(): string {
  // A CNI runtime always pipes the configuration; a terminal means a person is trying the binary.
  // Asked of the descriptor, not of process.stdin: making that stream cost every call ~1.7 ms of
  // CPU under load (docs/cni.md, "The CPU budget of a round at C = 64"). A character device is a
  // terminal or /dev/null, with nothing to read either way.
  try {
    if (fstatSync(0).isCharacterDevice()) return '';
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/** The top-level `type` of a network config, if stdin is one. */
function configType(stdin: string): unknown {
  try {
    return (JSON.parse(stdin) as { type?: unknown } | null)?.type;
  } catch {
    return undefined;
  }
}

let printed = false;

function writeOut(text: string): void {
  printed = true;
  writeSync(1, `${text}\n`);
}

/** The last resort: one error object on stdout (unless a reply went out already), then exit 1. */
function fail(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  if (!printed)
    writeOut(JSON.stringify({ cniVersion: latestVersion, code: 100, msg: `internal error: ${msg}` }));
  process.exit(1);
}

async function main(argv: string[]): Promise<number> {
  const [subcommand] = argv;
  if (subcommand === 'install') {
    const { runInstaller } = await import('./install/installer.js');
    return runInstaller(argv.slice(1), process.env);
  }
  if (subcommand === 'probe') {
    const { runProbeCommand } = await import('./probe/command.js');
    return runProbeCommand(argv.slice(1));
  }
  if (subcommand === leadSubcommand) {
    const { runLead } = await import('./linger/lead.js');
    const code = await runLead(argv.slice(1));
    await settled();
    return code;
  }
  if (subcommand !== undefined) {
    process.stderr.write(
      'usage: spiderpool (as a CNI plugin, driven by CNI_* variables and stdin)\n' +
        '       spiderpool install [--watch]\n' +
        '       spiderpool probe --netns <path> --ifname <name> <address>...\n',
    );
    return 2;
  }
  const stdin = readStdin();
  // One executable, two plugins: the coordinator meta plugin is installed as a link named
  // `coordinator` and recognised by its config's type (argv[0] of a compiled binary is not reliable).
  if (configType(stdin) === 'coordinator') {
    const { runCoordinator } = await import('./coordinator/plugin.js');
    return runCoordinator({ env: process.env, stdin, stdout: writeOut });
  }
  const code = await runPlugin({ env: process.env, stdin, stdout: writeOut }, verbs);
  // A process that leads node-local coordination keeps serving the others until it is idle, then
  // leaves a successor to lead the next calls (cni/linger/).
  await settled();
  startSuccessors();
  return code;
}

// Errors outside main's promise chain (a socket event handler, a timer) end the same way.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
main(process.argv.slice(2)).then((code) => process.exit(code), fail);
