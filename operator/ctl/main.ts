// The `spiderpool` command line (commander): `pools`, `ip`, `check`, `release`. It runs inside the
// operator's executable (`spiderpool-operator pools`) and as a kubectl plugin (the same executable
// named `kubectl-spiderpool`: `kubectl spiderpool pools`). The kubeconfig is found as kubectl finds
// it: --kubeconfig, then $KUBECONFIG, ~/.kube/config, in-cluster.
import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { installDefaults, kubectlPluginName, objectNames } from '../../api/install/names.js';
import { loadKubeConfig } from '../../kube/client.js';
import { apiStatus, describeApiError } from '../../kube/errors.js';
import { RestClient } from '../../kube/rest.js';
import { Cluster } from './cluster.js';
import {
  type CommandContext,
  checkCommand,
  ipCommand,
  type Outcome,
  poolsCommand,
  releaseCommand,
} from './commands.js';
import { type OutputFormat, outputFormats } from './format.js';

/** The first arguments that make the operator's executable run a command instead of the operator. */
export const ctlCommands = ['pools', 'ip', 'check', 'release'] as const;

/** Whether this invocation is the command line rather than the operator. */
export function isCtlInvocation(argv0: string, args: readonly string[]): boolean {
  if (basename(argv0).startsWith(kubectlPluginName)) return true;
  return (ctlCommands as readonly string[]).includes(args[0] ?? '');
}

export interface CtlIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Colours only on a terminal, and never with NO_COLOR set. */
  color: boolean;
  now?: () => number;
}

interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  installNamespace: string;
}

/** Exit status 2: the command could not run (bad arguments, no cluster, API errors). */
const failed = 2;

/** Runs one command line; resolves to the exit status. */
export async function runCtl(args: readonly string[], io: CtlIO, name = 'spiderpool'): Promise<number> {
  let outcome: Outcome | undefined;
  let rest: RestClient | undefined;
  const program = new Command(name)
    .description("Spiderpool's books: pool usage, who holds an address, leaks, and their release")
    .option('--kubeconfig <file>', 'kubeconfig file (else $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (else its current context)')
    .option(
      '--install-namespace <namespace>',
      `namespace of the ConfigMap ${objectNames.configMap} (the identity switches)`,
      installDefaults.namespace,
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError();
  const output = () =>
    new Option('-o, --output <format>', 'table, json or yaml').choices(outputFormats).default('table');

  const context = (): CommandContext => {
    const g = program.opts<GlobalOptions>();
    const kc = loadKubeConfig(g.kubeconfig);
    if (g.context) {
      if (!kc.getContextObject(g.context))
        throw new Error(`--context ${JSON.stringify(g.context)}: no such context in the kubeconfig`);
      kc.setCurrentContext(g.context);
    }
    rest = new RestClient(kc);
    return {
      cluster: new Cluster(rest, g.installNamespace),
      style: { color: io.color },
      now: io.now ?? Date.now,
    };
  };

  program
    .command('pools')
    .description('usage per SpiderIPPool and SpiderSubnet: allocated, total, free, a bar per pool')
    .addOption(output())
    .action(async (o: { output: OutputFormat }) => {
      outcome = await poolsCommand(context(), o.output);
    });
  program
    .command('ip')
    .description('who holds an address: pod, VM, SpiderEndpoint, node, since when, and the verdict')
    .argument('<address>', 'an IPv4 or IPv6 address')
    .addOption(output())
    .action(async (address: string, o: { output: OutputFormat }) => {
      outcome = await ipCommand(context(), address, o.output);
    });
  program
    .command('check')
    .description(
      'pool records against SpiderEndpoints and live pods and VMs: what the operator would reclaim and why; ' +
        'exit status 0 when the books are consistent, 1 when not',
    )
    .addOption(output())
    .action(async (o: { output: OutputFormat }) => {
      outcome = await checkCommand(context(), o.output);
    });
  program
    .command('release')
    .description("release a leaked address (one the operator's verdict says its holder is gone from)")
    .argument('<address>', 'an IPv4 or IPv6 address')
    .option(
      '--force',
      "also release an address the verdict keeps for an identity with no live pod; never a live pod's address",
    )
    .action(async (address: string, o: { force?: boolean }) => {
      outcome = await releaseCommand(context(), address, o.force === true);
    });

  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : failed;
    // API errors with the server's message and status; anything else (files, arguments) as it says.
    const text = apiStatus(err) !== undefined ? describeApiError(err) : (err as Error).message;
    io.stderr(`${name}: ${text}\n`);
    return failed;
  } finally {
    rest?.close();
  }
  if (!outcome) {
    io.stderr(program.helpInformation());
    return failed;
  }
  io.stdout(outcome.stdout);
  if (outcome.stderr) io.stderr(outcome.stderr);
  return outcome.code;
}

/** The process around runCtl: real streams, exit status. */
export async function ctlMain(argv0: string, args: readonly string[]): Promise<void> {
  const plugin = basename(argv0).startsWith(kubectlPluginName);
  const code = await runCtl(
    args,
    {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    },
    plugin ? 'kubectl spiderpool' : 'spiderpool-operator',
  );
  process.exitCode = code;
}
