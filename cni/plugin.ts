// One CNI invocation: environment and stdin in, a result or an error object out, one log line.
// Verb handlers receive parsed, validated input and return a result in the version-independent
// shape; everything about the wire format (versions, error objects, exit codes) stays here.

import { fileLogger, type Logger } from './log/logger.js';
import { type NodeConfig, readNodeConfig } from './node-config.js';
import {
  type LogSettings,
  logSettingsOf,
  type PluginConfig,
  parseNetConf,
  peekVersion,
} from './protocol/config.js';
import { type CniEnvironment, parseEnvironment, type Verb } from './protocol/env.js';
import { CniError, ErrorCode, toErrorObject } from './protocol/errors.js';
import { type CniResult, formatResult } from './protocol/result.js';
import { isSupportedVersion, latestVersion, versionInfo } from './protocol/versions.js';

export interface VerbContext {
  env: CniEnvironment;
  config: PluginConfig;
  log: Logger;
  /** The node configuration file the config names, read on first use. */
  nodeConfig(): NodeConfig;
}

/** Returns the result to print (ADD), or nothing (DEL, CHECK, GC, STATUS). */
export type VerbHandler = (ctx: VerbContext) => Promise<CniResult | undefined>;

export type VerbTable = Partial<Record<Exclude<Verb, 'VERSION'>, VerbHandler>>;

export interface PluginIO {
  env: Record<string, string | undefined>;
  stdin: string;
  /** Receives exactly one JSON document per call (or nothing on success without a result). */
  stdout: (text: string) => void;
  /** Overrides the log settings (tests). */
  logSettings?: (settings: LogSettings) => LogSettings;
}

function callFields(
  env: Record<string, string | undefined>,
  parsed?: CniEnvironment,
): Record<string, unknown> {
  const args = parsed?.args;
  return {
    command: env.CNI_COMMAND,
    containerID: env.CNI_CONTAINERID,
    netns: env.CNI_NETNS,
    ifname: env.CNI_IFNAME,
    ...(args?.podNamespace || args?.podName
      ? { pod: `${args.podNamespace ?? ''}/${args.podName ?? ''}` }
      : {}),
    ...(args?.podUid ? { podUID: args.podUid } : {}),
  };
}

/** Runs one invocation and returns the process exit code. Never throws. */
export async function runPlugin(io: PluginIO, verbs: VerbTable): Promise<number> {
  const started = performance.now();
  const requested = peekVersion(io.stdin);
  const replyVersion = isSupportedVersion(requested) ? requested : latestVersion;
  const adjust = io.logSettings ?? ((s: LogSettings) => s);
  let env: CniEnvironment | undefined;
  let log: Logger | undefined;
  try {
    env = parseEnvironment(io.env);
    if (env.command === 'VERSION') {
      io.stdout(JSON.stringify(versionInfo(requested)));
      return 0;
    }
    const config = parseNetConf(io.stdin, env.command);
    log = fileLogger(adjust(config.log), { network: config.name, ...callFields(io.env, env) });
    const handler = verbs[env.command];
    if (!handler) {
      throw new CniError(
        ErrorCode.invalidEnvironment,
        `CNI_COMMAND: ${env.command} is not available in this build`,
      );
    }
    let nodeConfig: NodeConfig | undefined;
    const result = await handler({
      env,
      config,
      log,
      nodeConfig: () => {
        nodeConfig ??= readNodeConfig(config.nodeConfigPath);
        return nodeConfig;
      },
    });
    if (result) io.stdout(JSON.stringify(formatResult(result, config.cniVersion)));
    log.info('done', {
      outcome: 'ok',
      durationMs: Math.round(performance.now() - started),
      // From the process's start to this call's first line of work: the runtime and module loading.
      startupMs: Math.round(started),
      ...(result ? { result } : {}),
    });
    return 0;
  } catch (err) {
    const object = toErrorObject(err, replyVersion);
    io.stdout(JSON.stringify(object));
    log ??= fileLogger(adjust(logSettingsOf(io.stdin)), callFields(io.env, env));
    log.error('failed', {
      outcome: 'error',
      code: object.code,
      error: object.msg,
      durationMs: Math.round(performance.now() - started),
      ...(err instanceof CniError ? {} : { stack: err instanceof Error ? err.stack : String(err) }),
    });
    return 1;
  }
}
