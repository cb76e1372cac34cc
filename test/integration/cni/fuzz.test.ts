// Fuzzing the plugin's input: stdin configuration, CNI_* environment and pod annotations, each case
// derived from a valid invocation by a few mutations. Every case must end in a valid result or in a
// CNI error object (the spec's JSON form and codes) whose msg names a field or value the mutations
// touched; never an internal error, a stack trace, or a pool record left behind by a failed ADD.
// Most cases run in-process through runPlugin with the production verbs (the API server is the real
// one, the identity the plugin's service account); a sample runs through the compiled executable.
//
// FUZZ_SEED=<n> reruns with another seed; a failure prints the seed and path that reproduce it.
// FUZZ_KEEP_LOG=<file> keeps a copy of the plugin's log (every call, with its outcome).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import { settled } from '../../../cni/coordination/coordinate.js';
import { runPlugin } from '../../../cni/plugin.js';
import { logSettingsOf } from '../../../cni/protocol/config.js';
import { ErrorCode } from '../../../cni/protocol/errors.js';
import { verbs as productionVerbs } from '../../../cni/verbs/index.js';
import { cniEnv, netConf, pluginBinary, runProcess, type TestNode } from '../../harness/cni-plugin.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261206);
const inProcessRuns = 10_000;
const annotationRuns = 100;
const binaryRuns = 200;

const verbNames = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
type VerbName = (typeof verbNames)[number];

/** Codes an error object may carry: the spec's, and this plugin's own (docs/cni.md). */
const knownCodes = new Set<number>(
  Object.values(ErrorCode).filter((c) => c !== ErrorCode.internal) as number[],
);

let testbed: PluginTestbed;
let fixtures: ClusterFixtures;
let node: TestNode;
let namespace: string;
let pool: string;
/** Pod A is ADDed and CHECKed; pod B is DELeted (never added). */
let podA: V1Pod;
let podB: V1Pod;
let prevResult: Record<string, unknown>;
let files: { garbage: string; directory: string; missing: string; badNodeConfig: string };
/** `<namespace>/<name> <nic>` of every successful ADD, with the addresses it was answered. */
const added = new Map<string, Set<string>>();

const poolSubnet = '198.18.40.0/24';
const poolFirst = 1;
const poolLast = 250;

beforeAll(async () => {
  testbed = await PluginTestbed.start('cni-fuzz');
  fixtures = testbed.fixtures;
  node = testbed.node('fuzz', { enableIPv4: true, enableIPv6: false, enableIPConflictDetection: false });
  namespace = await fixtures.namespace('fuzz');
  pool = await fixtures.pool({
    subnet: poolSubnet,
    ips: [`198.18.40.${poolFirst}-198.18.40.${poolLast}`],
    gateway: '198.18.40.254',
  });
  podA = await fixtures.pod({ namespace, name: 'pod-a', nodeName: node.name });
  podB = await fixtures.pod({ namespace, name: 'pod-b', nodeName: node.name });
  const dir = join(testbed.dir, 'files');
  mkdirSync(join(dir, 'a-directory'), { recursive: true });
  files = {
    garbage: join(dir, 'garbage'),
    directory: join(dir, 'a-directory'),
    missing: join(dir, 'no-such-file'),
    badNodeConfig: join(dir, 'bad-node-config.json'),
  };
  writeFileSync(files.garbage, '\u0000not: [a kubeconfig');
  writeFileSync(files.badNodeConfig, JSON.stringify({ nodeName: 7, enableIPv4: 'yes' }));
  // The valid ADD that CHECK cases check.
  const first = await invoke(base('ADD'));
  expect(first.code).toBe(0);
  prevResult = JSON.parse(first.out[0] ?? '{}') as Record<string, unknown>;
  noteAdded(base('ADD'), prevResult);
}, 120_000);

afterAll(async () => {
  await settled();
  if (process.env.FUZZ_KEEP_LOG) copyFileSync(node.logFile, process.env.FUZZ_KEEP_LOG);
  await testbed?.close();
});

// ---- cases ----------------------------------------------------------------------------------

interface Case {
  verb: VerbName;
  env: Record<string, string | undefined>;
  conf: Record<string, unknown>;
  /** Replaces the serialized conf (non-JSON and non-object inputs). */
  stdin?: string;
  /** Strings of which the error's msg must contain one: the fields and values mutated. */
  mentions: string[];
  /** What was done, for failure messages. */
  mutations: string[];
}

const podRef = (pod: V1Pod) => ({
  namespace: pod.metadata?.namespace ?? '',
  name: pod.metadata?.name ?? '',
  uid: pod.metadata?.uid ?? '',
});

function base(verb: VerbName): Case {
  const pod = verb === 'DEL' ? podB : podA;
  const env = cniEnv(verb, podRef(pod), { ifname: 'eth0', containerId: `c-${pod.metadata?.name}` });
  const cniVersion = verb === 'GC' || verb === 'STATUS' ? '1.1.0' : '1.0.0';
  const conf = netConf(node, testbed.kubeconfig, {
    name: 'fuzz-net',
    cniVersion,
    top: { type: 'macvlan', master: 'eth0' },
    ipam: { default_ipv4_ippool: [pool] },
  });
  if (verb === 'CHECK') conf.prevResult = prevResult;
  if (verb === 'GC') conf['cni.dev/valid-attachments'] = [{ containerID: 'c-pod-a', ifname: 'eth0' }];
  return { verb, env, conf, mentions: [], mutations: [] };
}

type Mutation = (c: Case) => void;

const lastKey = (path: string) => path.split('.').at(-1) as string;

function getParent(conf: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  let at: unknown = conf;
  for (const key of path.split('.').slice(0, -1)) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === 'object' && at !== null && !Array.isArray(at)
    ? (at as Record<string, unknown>)
    : undefined;
}

// Under Linux's limit on one environment string (128 KiB), so the executable can be given it too.
const huge = 'x'.repeat(100_000);

/** JSON values of every type, from tiny to huge. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.constant(huge),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
);

const nonString = oddValue.filter((v) => typeof v !== 'string');

/** A key whose loss leaves the kubeconfig at its default path, which the error then names. */
const kubeconfigMention = (path: string) =>
  /^(ipam|ipam\.kubernetes|kubernetes)$/.test(path) ? ['kubeconfig'] : [];
/** Without default pools in the config the error says which selection rules found none. */
const defaultPoolsMention = (path: string) => (path.includes('_ippool') ? ['default pools'] : []);

function setAt(
  path: string,
  value: unknown,
  mentions = [lastKey(path), ...kubeconfigMention(path), ...defaultPoolsMention(path)],
): Mutation {
  return (c) => {
    const parent = getParent(c.conf, path);
    if (!parent) return;
    parent[lastKey(path)] = value;
    c.mentions.push(...mentions);
    c.mutations.push(`set ${path} = ${JSON.stringify(value)?.slice(0, 60)}`);
  };
}

function deleteAt(path: string): Mutation {
  return (c) => {
    const parent = getParent(c.conf, path);
    if (!parent) return;
    delete parent[lastKey(path)];
    c.mentions.push(lastKey(path), ...kubeconfigMention(path), ...defaultPoolsMention(path));
    c.mutations.push(`delete ${path}`);
  };
}

/** Keys whose string values name files get only files under the test's folder, or other types. */
type FileName = 'garbage' | 'directory' | 'missing' | 'badNodeConfig';
const fileValue: fc.Arbitrary<unknown> = fc.oneof(
  nonString,
  fc.constant(''),
  fc.constantFrom<FileName>('garbage', 'directory', 'missing', 'badNodeConfig').map((f) => ({ file: f })),
);

const isFileRef = (v: unknown): v is { file: FileName } => typeof v === 'object' && v !== null && 'file' in v;

const deletablePaths = [
  'cniVersion',
  'name',
  'type',
  'ipam',
  'ipam.type',
  'ipam.log_level',
  'ipam.default_ipv4_ippool',
  'ipam.kubernetes',
  'prevResult',
  'cni.dev/valid-attachments',
];

const typedPaths = [
  ...deletablePaths,
  'ipam.log_file_max_size',
  'ipam.log_file_max_age',
  'ipam.default_ipv6_ippool',
  'ipam.clean_gateway',
  'ipam.match_master_subnet',
  'ipam.ipam_unix_socket_path',
  'kubernetes',
  'cni.dev/attachments',
];

/** A value as an error may quote it: long ones are cut, so their start is what must appear. */
const quoted = (value: string) => value.slice(0, 60);
/** A mutated value the error may name instead of its field; too short a value would match anything. */
const valueMention = (value: string | undefined) => (value && value.length >= 3 ? [quoted(value)] : []);

const poolNameValue = fc.oneof(
  fc.constantFrom('', 'no-such-pool', '../../namespaces', 'UPPER', 'a/b', '%2e%2e', 'pool name', huge),
  fc.string({ minLength: 1, maxLength: 30 }),
);

const stdinMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...typedPaths), oddValue).map(([p, v]) => setAt(p, v)),
  fc.constantFrom(...deletablePaths).map(deleteAt),
  fc
    .tuple(
      fc.constantFrom('ipam.kubernetes.kubeconfig', 'ipam.node_config_path', 'ipam.state_dir'),
      fileValue,
    )
    .map(
      ([p, v]): Mutation =>
        (c) => {
          const value = isFileRef(v) ? files[v.file] : v;
          setAt(p, value, [lastKey(p), ...(typeof value === 'string' && value ? [value] : [])])(c);
        },
    ),
  fc
    .tuple(
      fc.constantFrom(
        '0.1.0',
        '0.2.0',
        '0.3.0',
        '0.3.1',
        '0.4.0',
        '1.1.0',
        '1.2.0',
        '2.0.0',
        '1.0',
        'v1.0.0',
        '',
        ' 1.0.0',
        '1.0.0\n',
        '01.0.0',
      ),
      fc.boolean(),
    )
    .map(([v, odd]) => setAt('cniVersion', odd ? `${v}${'9'.repeat(30)}` : v)),
  fc
    .array(poolNameValue, { minLength: 0, maxLength: 3 })
    .chain((names) =>
      fc
        .constantFrom('ipam.default_ipv4_ippool', 'ipam.default_ipv6_ippool')
        .map((p) =>
          setAt(p, names, [lastKey(p), 'default pools', ...names.filter((n) => n !== '').map(quoted)]),
        ),
    ),
  fc
    .tuple(fc.constantFrom('', 'ipam.'), fc.string({ minLength: 1, maxLength: 12 }), oddValue)
    .filter(
      ([, k]) => !typedPaths.includes(k) && !['log_file_path', 'state_dir', 'node_config_path'].includes(k),
    )
    .map(
      ([where, k, v]): Mutation =>
        (c) => {
          const parent = where === '' ? c.conf : getParent(c.conf, `ipam.${k}`);
          if (!parent || k in parent) return;
          parent[k] = v;
          c.mutations.push(`add ${where}${k}`);
        },
    ),
  fc.nat({ max: 400 }).map(
    (cut): Mutation =>
      (c) => {
        c.stdin = JSON.stringify(c.conf).slice(0, cut);
        c.mentions.push('network configuration');
        c.mutations.push(`truncate stdin at ${cut}`);
      },
  ),
  fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 1 })).map(
    (text): Mutation =>
      (c) => {
        c.stdin = text;
        c.mentions.push('network configuration', 'cniVersion');
        c.mutations.push(`stdin = ${JSON.stringify(text)}`);
      },
  ),
);

const envVars = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH', 'CNI_ARGS'];

function setEnv(
  name: string,
  value: string | undefined,
  mentions = [name, ...valueMention(value)],
): Mutation {
  return (c) => {
    if (value === undefined) delete c.env[name];
    else c.env[name] = value;
    c.mentions.push(...mentions);
    c.mutations.push(value === undefined ? `unset ${name}` : `${name}=${JSON.stringify(value.slice(0, 60))}`);
  };
}

/** CNI_ARGS rebuilt from pairs, with one pair replaced, added or dropped. */
function argsMutation(edit: (pairs: string[]) => string[], mentions: string[], what: string): Mutation {
  return (c) => {
    const pairs = (c.env.CNI_ARGS ?? '').split(';').filter((p) => p !== '');
    c.env.CNI_ARGS = edit(pairs).join(';');
    c.mentions.push('CNI_ARGS', ...mentions);
    c.mutations.push(`CNI_ARGS: ${what}`);
  };
}

/**
 * One pod argument replaced. Another pod's name or namespace comes without the UID of pod A, as a
 * runtime sends them (inconsistent-input.test.ts covers a name and a UID that disagree).
 */
const replaceArg = (key: string, value: string) => (pairs: string[]) => [
  ...pairs.filter(
    (p) => !p.startsWith(`${key}=`) && (key === 'K8S_POD_UID' || !p.startsWith('K8S_POD_UID=')),
  ),
  `${key}=${value}`,
];

const badInterfaceName = fc.oneof(
  fc.constantFrom('.', '..', 'a/b', 'eth0:1', 'eth 0', 'tab\there', 'x'.repeat(16), 'ééééééééé'),
  fc.string({ minLength: 16, maxLength: 40 }),
);

const badContainerId = fc.oneof(
  fc.constantFrom('-lead', '.hidden', 'a/b', 'a b', 'ä', '_x', '../../etc'),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s)),
);

const envMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...envVars).map((n) => setEnv(n, undefined, n === 'CNI_ARGS' ? [n, 'K8S_POD'] : [n])),
  fc
    .oneof(fc.constantFrom('add', 'del', 'Add', ' ADD', 'UPDATE', ''), fc.string({ maxLength: 10 }))
    .map((v) => setEnv('CNI_COMMAND', v)),
  badContainerId.map((v) => setEnv('CNI_CONTAINERID', v)),
  fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/).map((v) => setEnv('CNI_CONTAINERID', v)),
  badInterfaceName.map((v) => setEnv('CNI_IFNAME', v)),
  fc.constantFrom('eth0', 'net1', 'net2').map((v) => setEnv('CNI_IFNAME', v)),
  fc.oneof(fc.string({ maxLength: 30 }), fc.constant('/proc/self/ns/net')).map((v) => setEnv('CNI_NETNS', v)),
  fc.string({ maxLength: 30 }).map((v) => setEnv('CNI_PATH', v)),
  fc
    .constantFrom('novalue', '=x', 'IgnoreUnknown', 'IgnoreUnknown=maybe', 'K8S_POD_NAME')
    .map((p) => argsMutation((pairs) => [...pairs, p], [p.split('=')[0] ?? p], `add ${p}`)),
  fc
    .stringMatching(/^[A-Z_]{1,12}$/)
    .map((k) =>
      argsMutation(
        (pairs) => [...pairs.filter((p) => p !== 'IgnoreUnknown=1'), `${k}=v`],
        ['unknown keys', 'K8S_POD'],
        `unknown key ${k} without IgnoreUnknown`,
      ),
    ),
  fc
    .tuple(
      fc.constantFrom('K8S_POD_NAME', 'K8S_POD_NAMESPACE', 'K8S_POD_UID'),
      fc.oneof(fc.constantFrom('', 'no-such-pod', 'a/b', '..', 'UPPER', huge), fc.string({ maxLength: 20 })),
    )
    .map(([key, value]) =>
      argsMutation(
        replaceArg(key, value),
        [key, ...(value ? [quoted(value)] : [])],
        `${key}=${value.slice(0, 40)}`,
      ),
    ),
  fc
    .constantFrom('K8S_POD_NAME', 'K8S_POD_NAMESPACE', 'K8S_POD_UID')
    .map((key) =>
      argsMutation((pairs) => pairs.filter((p) => !p.startsWith(`${key}=`)), [key, 'K8S_POD'], `drop ${key}`),
    ),
);

const caseArb: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom(...verbNames),
    fc.array(fc.oneof(stdinMutation, envMutation), { minLength: 1, maxLength: 3 }),
  )
  .map(([verb, mutations]) => {
    const c = base(verb);
    for (const m of mutations) m(c);
    return c;
  });

// ---- running and judging --------------------------------------------------------------------

const stdinOf = (c: Case) => c.stdin ?? JSON.stringify(c.conf);

async function invoke(c: Case): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const logFile = node.logFile;
  const code = await runPlugin(
    {
      env: c.env,
      stdin: stdinOf(c),
      stdout: (t) => out.push(t),
      logSettings: (s) => ({ ...s, filePath: logFile }),
    },
    productionVerbs,
  );
  return { code, out };
}

function noteAdded(c: Case, result: Record<string, unknown>): void {
  const args = Object.fromEntries(
    (c.env.CNI_ARGS ?? '').split(';').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  );
  const key = `${args.K8S_POD_NAMESPACE}/${args.K8S_POD_NAME} ${c.env.CNI_IFNAME}`;
  const ips = (result.ips as Array<{ address: string }>).map((ip) => ip.address.split('/')[0] as string);
  const set = added.get(key) ?? new Set<string>();
  for (const ip of ips) set.add(ip);
  added.set(key, set);
}

const inPool = (address: unknown) => {
  const m = /^198\.18\.40\.(\d+)\/24$/.exec(String(address));
  return m !== null && Number(m[1]) >= poolFirst && Number(m[1]) <= poolLast;
};

/** Why the outcome is wrong, or undefined when it is right. */
function judge(c: Case, code: number, out: string[]): string | undefined {
  if (out.length > 1) return `${out.length} documents on stdout`;
  const text = out[0];
  if (text !== undefined && /\n\s+at /.test(text)) return 'a stack trace on stdout';
  let doc: Record<string, unknown> | undefined;
  try {
    doc = text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    return `stdout is not JSON: ${text?.slice(0, 200)}`;
  }
  if (code === 0) {
    if (c.verb === 'VERSION') {
      return Array.isArray(doc?.supportedVersions) && typeof doc?.cniVersion === 'string'
        ? undefined
        : `VERSION printed ${text}`;
    }
    if (c.verb !== 'ADD') return doc === undefined ? undefined : `${c.verb} succeeded but printed ${text}`;
    const ips = doc?.ips;
    if (!Array.isArray(ips) || ips.length === 0) return `ADD result without ips: ${text}`;
    if (!ips.every((ip: { address?: unknown }) => inPool(ip.address)))
      return `ADD result outside ${pool}: ${text}`;
    return undefined;
  }
  if (!doc) return `exit ${code} without an error object`;
  const keys = Object.keys(doc).filter((k) => !['cniVersion', 'code', 'msg', 'details'].includes(k));
  if (keys.length > 0) return `error object has extra keys ${keys.join(', ')}`;
  if (typeof doc.cniVersion !== 'string' || typeof doc.msg !== 'string' || doc.msg === '')
    return `malformed error object ${text}`;
  if (!knownCodes.has(doc.code as number)) return `error code ${doc.code}: ${doc.msg}`;
  const msg = doc.msg as string;
  if (!c.mentions.some((m) => msg.includes(m)))
    return `msg names none of ${JSON.stringify(c.mentions)}: ${msg}`;
  return undefined;
}

function explain(c: Case, code: number, out: string[], why: string): string {
  return `${why}\n  verb ${c.verb}, exit ${code}, mutations: ${c.mutations.join(' | ') || '(none)'}\n  stdout: ${out.join('\n').slice(0, 400)}`;
}

const stats = { cases: 0, ok: 0, failed: 0, okMs: 0, byCode: new Map<number, number>() };

async function runCase(c: Case): Promise<void> {
  const started = performance.now();
  const { code, out } = await invoke(c);
  if (code === 0) stats.okMs += performance.now() - started;
  const why = judge(c, code, out);
  if (why) throw new Error(explain(c, code, out, why));
  stats.cases++;
  if (code === 0) {
    stats.ok++;
    if (c.verb === 'ADD') noteAdded(c, JSON.parse(out[0] as string) as Record<string, unknown>);
  } else {
    stats.failed++;
    const errCode = (JSON.parse(out[0] as string) as { code: number }).code;
    stats.byCode.set(errCode, (stats.byCode.get(errCode) ?? 0) + 1);
  }
}

function fuzzOptions(numRuns: number): fc.Parameters<[Case]> {
  return { numRuns, seed, endOnFailure: true, verbose: 1 };
}

test(`${inProcessRuns} mutated stdin and environment cases each end in a result or an error naming the field`, async () => {
  const started = performance.now();
  process.stdout.write(`fuzz seed ${seed} (FUZZ_SEED reruns with another)\n`);
  await fc.assert(fc.asyncProperty(caseArb, runCase), fuzzOptions(inProcessRuns));
  await settled();
  const codes = [...stats.byCode].sort(([a], [b]) => a - b).map(([k, n]) => `${k}:${n}`);
  process.stdout.write(
    `fuzz in-process: ${stats.cases} cases in ${Math.round(performance.now() - started)} ms; ${stats.ok} ok (${Math.round(stats.okMs)} ms), ${stats.failed} errors (${codes.join(' ')})\n`,
  );
  expect(stats.cases).toBe(inProcessRuns);
}, 600_000);

// ---- pod annotations ------------------------------------------------------------------------

interface AnnotationCase {
  annotations: Record<string, string>;
  mentions: string[];
}

const annotationKeys = {
  ippool: 'ipam.spidernet.io/ippool',
  ippools: 'ipam.spidernet.io/ippools',
  defaultNetwork: 'v1.multus-cni.io/default-network',
  networks: 'k8s.v1.cni.cncf.io/networks',
};

/** A valid value of `key`, then maybe broken: truncated, retyped, or a pool name replaced. */
function annotationValue(key: string): fc.Arbitrary<{ value: string; mentions: string[] }> {
  const valid = (p: string): unknown =>
    key === annotationKeys.ippool
      ? { ipv4: [p] }
      : key === annotationKeys.ippools
        ? [{ interface: 'eth0', ipv4: [p] }]
        : key === annotationKeys.defaultNetwork
          ? `${namespace}/fuzz-net`
          : [{ name: 'fuzz-net', namespace, interface: 'net1' }];
  return fc.oneof(
    fc.constant(null).map(() => ({ value: JSON.stringify(valid(pool)), mentions: [] as string[] })),
    poolNameValue.map((p) => ({ value: JSON.stringify(valid(p)), mentions: p ? [quoted(p)] : [] })),
    fc.nat({ max: 60 }).map((cut) => ({ value: JSON.stringify(valid(pool)).slice(0, cut), mentions: [] })),
    oddValue.map((v) => ({ value: JSON.stringify(v) ?? 'null', mentions: [] })),
    fc
      .constantFrom(
        '{"ipv4":"POOL"}',
        '{"ipv4":[1]}',
        '{"ipv6":["POOL"]}',
        '[{"interface":7}]',
        '{}',
        '[]',
        'a,b',
        'ns/',
        '/x',
        ' ',
      )
      .map((v) => ({ value: v.replace('POOL', pool), mentions: [] })),
  );
}

const annotationCaseArb: fc.Arbitrary<AnnotationCase> = fc
  .uniqueArray(fc.constantFrom(...Object.values(annotationKeys)), { minLength: 1, maxLength: 2 })
  .chain((keys) => fc.tuple(...keys.map((k) => annotationValue(k).map((v) => [k, v] as const))))
  .map((entries) => ({
    annotations: Object.fromEntries(entries.map(([k, v]) => [k, v.value])),
    mentions: entries.flatMap(([k, v]) => [k, ...v.mentions]),
  }));

let annotationPods = 0;

async function runAnnotationCase(a: AnnotationCase): Promise<void> {
  const name = `ann-${annotationPods++}`;
  const pod = await fixtures.pod({ namespace, name, nodeName: node.name, annotations: a.annotations });
  const c = base('ADD');
  c.env = cniEnv('ADD', podRef(pod), { ifname: 'eth0', containerId: `c-${name}` });
  c.mentions = [...a.mentions, 'fuzz-net'];
  c.mutations = [`annotations ${JSON.stringify(a.annotations).slice(0, 300)}`];
  await runCase(c);
}

test(`${annotationRuns} pods with mutated annotations: each ADD gives a result or an error naming the annotation`, async () => {
  const before = stats.cases;
  await fc.assert(fc.asyncProperty(annotationCaseArb, runAnnotationCase), {
    numRuns: annotationRuns,
    seed,
    endOnFailure: true,
  });
  expect(stats.cases - before).toBe(annotationRuns);
}, 300_000);

// ---- the compiled executable ----------------------------------------------------------------

test(`${binaryRuns} cases through the executable print exactly one JSON document and no stack trace`, async () => {
  const binary = pluginBinary();
  // Only cases whose log goes to the test's folder: a configuration too broken to name its log file
  // would log to the default path on this machine.
  const cases = fc
    .sample(caseArb, { seed, numRuns: binaryRuns * 3 })
    .filter((c) => logSettingsOf(stdinOf(c)).filePath === node.logFile)
    .slice(0, binaryRuns);
  expect(cases.length).toBe(binaryRuns);
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(
      cases.slice(i, i + 4).map(async (c) => {
        const run = await runProcess(binary, [], { PATH: process.env.PATH, ...c.env }, stdinOf(c));
        const lines = run.stdout === '' ? [] : run.stdout.replace(/\n$/, '').split('\n');
        const why = run.signal ? `killed by ${run.signal}` : judge(c, run.code ?? -1, lines);
        if (why)
          throw new Error(explain(c, run.code ?? -1, lines, `${why}\n  stderr: ${run.stderr.slice(0, 400)}`));
        if (run.code === 0 && c.verb === 'ADD')
          noteAdded(c, JSON.parse(lines[0] as string) as Record<string, unknown>);
      }),
    );
  }
}, 300_000);

// ---- no allocation left behind --------------------------------------------------------------

test('the pool holds records only for the pods and interfaces whose ADD succeeded, at the addresses answered', async () => {
  const state = await fixtures.poolState(pool);
  const recorded = state.records.map((r) => `${r.pod} ${r.nic} ${r.ip}`).sort();
  const answered = new Set([...added].flatMap(([key, ips]) => [...ips].map((ip) => `${key} ${ip}`)));
  expect(recorded.filter((r) => !answered.has(r))).toEqual([]);
  // Every pod answered still holds what it was given (they are all alive).
  expect([...answered].filter((a) => !recorded.includes(a))).toEqual([]);
});
