// The CNI_* environment of one invocation, checked the way the spec and libcni's skel check it.
import { type CniArgs, parseCniArgs } from './args.js';
import { CniError, ErrorCode } from './errors.js';

export const verbs = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type Verb = (typeof verbs)[number];

export interface CniEnvironment {
  command: Verb;
  containerId?: string;
  netns?: string;
  ifname?: string;
  /** CNI_PATH split on `:`. */
  path: string[];
  args: CniArgs;
}

type VarName = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

const required: Record<Verb, VarName[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: [],
  VERSION: [],
};

const attachmentVerbs = new Set<Verb>(['ADD', 'DEL', 'CHECK']);

const containerIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerId(id: string): void {
  if (!containerIdPattern.test(id)) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_CONTAINERID: ${JSON.stringify(id)} must start with a letter or digit followed by letters, digits, _, . or -`,
    );
  }
}

/** Linux interface names: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or whitespace. */
export function validateInterfaceName(name: string): void {
  const fail = (why: string) => {
    throw new CniError(ErrorCode.invalidEnvironment, `CNI_IFNAME: ${JSON.stringify(name)} ${why}`);
  };
  if (name === '') fail('is empty');
  if (Buffer.byteLength(name) > 15) fail('is longer than 15 characters');
  if (name === '.' || name === '..') fail('is not a valid interface name');
  if (/[/:\s]/.test(name)) fail('must not contain "/", ":" or whitespace');
}

export function parseEnvironment(env: Record<string, string | undefined>): CniEnvironment {
  const command = env.CNI_COMMAND;
  if (!command) throw new CniError(ErrorCode.invalidEnvironment, 'CNI_COMMAND: missing');
  if (!(verbs as readonly string[]).includes(command)) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_COMMAND: ${JSON.stringify(command)} is not one of ${verbs.join(', ')}`,
    );
  }
  const verb = command as Verb;
  const missing = required[verb].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `${missing.join(', ')}: required for ${verb} but missing`,
    );
  }
  const parsed: CniEnvironment = {
    command: verb,
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    // Only the attachment verbs carry pod arguments; VERSION, STATUS and GC ignore CNI_ARGS.
    args: attachmentVerbs.has(verb) ? parseCniArgs(env.CNI_ARGS) : { ignoreUnknown: false, unknown: {} },
  };
  if (env.CNI_CONTAINERID) {
    validateContainerId(env.CNI_CONTAINERID);
    parsed.containerId = env.CNI_CONTAINERID;
  }
  if (env.CNI_IFNAME) {
    validateInterfaceName(env.CNI_IFNAME);
    parsed.ifname = env.CNI_IFNAME;
  }
  if (env.CNI_NETNS) parsed.netns = env.CNI_NETNS;
  return parsed;
}
