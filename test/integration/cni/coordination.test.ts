// Node-local group commit with real processes against the real API server: many compiled copies of
// test/harness/ledger-client.ts each append one unique entry to a ledger (a ConfigMap) through
// cni/coordination, while the test kills leaders at chosen points, followers while they wait, and
// random processes at random times. Afterwards every entry is in the ledger at most once, every
// process that finished got its own entry's index, and re-running the killed ones (as the kubelet
// retries a failed ADD) completes the ledger with each entry exactly once.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { buildExecutable, repoRoot } from '../../../build/executables.js';
import { collectOutput } from '../../harness/child-output.js';
import { controlPlane, kubeConfig, uniqueName } from '../../harness/clients.js';

let workDir: string;
let ledgerClient: string;
const core = () => kubeConfig('admin').makeApiClient(CoreV1Api);
const namespace = 'default';
const ledgers: string[] = [];

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'cni-ledger-'));
  ledgerClient = join(workDir, 'ledger-client');
  buildExecutable(join(repoRoot, 'test', 'harness', 'ledger-client.ts'), ledgerClient);
});

afterAll(async () => {
  for (const name of ledgers)
    await core()
      .deleteNamespacedConfigMap({ name, namespace })
      .catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
});

interface Outcome {
  entry: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process's answer: the index of its entry in the ledger. */
  index?: number;
  role?: string;
  events: Array<{ type: string; reason?: string; size?: number; own?: boolean }>;
}

interface Run {
  entry: string;
  child: ChildProcess;
  events: Outcome['events'];
  done: Promise<Outcome>;
}

async function newLedger(): Promise<string> {
  const name = uniqueName('ledger');
  await core().createNamespacedConfigMap({
    namespace,
    body: { metadata: { name }, data: { entries: '[]', writes: '0' } },
  });
  ledgers.push(name);
  return name;
}

function start(ledger: string, entry: string, env: Record<string, string> = {}): Run {
  const child = spawn(ledgerClient, [], {
    env: {
      PATH: process.env.PATH,
      LEDGER_KUBECONFIG: controlPlane().kubeconfigPath('admin'),
      LEDGER_NAMESPACE: namespace,
      LEDGER_NAME: ledger,
      LEDGER_ENTRY: entry,
      LEDGER_NODE: `node-of-${ledger}`,
      LEDGER_CRASH_MARKER: join(workDir, `${ledger}.crashed`),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Outcome['events'] = [];
  const output = collectOutput(child, (line) => events.push(JSON.parse(line)));
  const done = new Promise<Outcome>((resolve) => {
    child.on('close', (code, signal) => {
      const { stdout } = output;
      const answer = stdout.trim() ? (JSON.parse(stdout) as { index: number; role: string }) : undefined;
      resolve({ entry, code, signal, index: answer?.index, role: answer?.role, events });
    });
  });
  return { entry, child, events, done };
}

async function ledgerOf(name: string): Promise<{ entries: string[]; writes: number }> {
  const cm = await core().readNamespacedConfigMap({ name, namespace });
  return { entries: JSON.parse(cm.data?.entries ?? '[]'), writes: Number(cm.data?.writes ?? 0) };
}

/** The invariants after any burst, kills or not. Returns the processes that did not finish. */
async function check(ledger: string, outcomes: Outcome[]): Promise<Outcome[]> {
  const { entries } = await ledgerOf(ledger);
  expect(new Set(entries).size).toBe(entries.length); // no entry twice
  const ours = new Set(outcomes.map((o) => o.entry));
  expect(entries.filter((e) => !ours.has(e))).toEqual([]); // nothing invented
  const finished = outcomes.filter((o) => o.code === 0);
  for (const o of finished)
    expect({ entry: o.entry, at: entries[o.index ?? -1] }).toEqual({ entry: o.entry, at: o.entry });
  const unfinished = outcomes.filter((o) => o.code !== 0);
  for (const o of unfinished) expect(o.signal).toBe('SIGKILL'); // only the ones we killed failed
  return unfinished;
}

/** Re-runs the killed ones, as the kubelet retries; then every entry is there exactly once. */
async function retryAndComplete(ledger: string, all: Outcome[], unfinished: Outcome[]): Promise<void> {
  const retried = await Promise.all(unfinished.map((o) => start(ledger, o.entry).done));
  for (const o of retried) expect({ entry: o.entry, code: o.code }).toEqual({ entry: o.entry, code: 0 });
  await check(ledger, [...all.filter((o) => o.code === 0), ...retried]);
  const { entries } = await ledgerOf(ledger);
  expect([...entries].sort()).toEqual(all.map((o) => o.entry).sort());
}

const entriesFor = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

test('64 concurrent processes: every entry exactly once, each process its own answer, far fewer writes', async () => {
  const ledger = await newLedger();
  const outcomes = await Promise.all(entriesFor(64, 'plain').map((e) => start(ledger, e).done));
  expect(outcomes.filter((o) => o.code !== 0)).toEqual([]);
  expect(await check(ledger, outcomes)).toEqual([]);
  const { entries, writes } = await ledgerOf(ledger);
  expect(entries).toHaveLength(64);
  expect(outcomes.filter((o) => o.role === 'follower').length).toBeGreaterThan(0);
  expect(writes).toBeLessThan(64);
});

test.each(['before-read', 'after-read', 'after-write', 'after-answer'] as const)(
  'the leader is SIGKILLed %s its batch: the others finish, the retry converges',
  async (point) => {
    const ledger = await newLedger();
    // The write delay makes batches of several requests, so the crashing leader has followers.
    const runs = entriesFor(32, point).map((e) =>
      start(ledger, e, { LEDGER_CRASH_AT: point, LEDGER_WRITE_DELAY_MS: '40' }),
    );
    const outcomes = await Promise.all(runs.map((r) => r.done));
    const killed = outcomes.filter((o) => o.code !== 0);
    expect(killed).toHaveLength(1);
    expect(killed[0]?.events.some((e) => e.type === 'crash')).toBe(true);
    const unfinished = await check(ledger, outcomes);
    const { entries } = await ledgerOf(ledger);
    const killedEntry = killed[0]?.entry ?? '';
    const crash = killed[0]?.events.find((e) => e.type === 'crash');
    // A batch killed before its write is lost (its followers re-send theirs); after it, it stays. The
    // leader's own entry went in its first batch, so it is lost only if it died in that batch.
    const written = point === 'after-write' || point === 'after-answer';
    expect(entries.includes(killedEntry)).toBe(written || crash?.own === false);
    if (point !== 'after-answer') {
      // The dead leader's followers retried and were answered by a successor.
      expect(outcomes.some((o) => o.code === 0 && o.events.some((e) => e.type === 'retry'))).toBe(true);
    }
    await retryAndComplete(ledger, outcomes, unfinished);
  },
);

test('followers SIGKILLed while they wait do not disturb the leader or the others', async () => {
  const ledger = await newLedger();
  const runs = entriesFor(48, 'wait').map((e) => start(ledger, e, { LEDGER_WRITE_DELAY_MS: '100' }));
  // Kill eight processes as soon as each has said it follows (and not that it leads).
  const victims: Run[] = [];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (const run of runs) {
        if (victims.length >= 8) break;
        const following = run.events.some((e) => e.type === 'following');
        const leading = run.events.some((e) => e.type === 'leading');
        if (following && !leading && !victims.includes(run) && run.child.exitCode === null) {
          victims.push(run);
          run.child.kill('SIGKILL');
        }
      }
      // A process killed by a signal has no exit code, only a signal code.
      const exited = (r: Run) => r.child.exitCode !== null || r.child.signalCode !== null;
      if (victims.length >= 8 || runs.every(exited)) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const outcomes = await Promise.all(runs.map((r) => r.done));
  expect(victims.length).toBeGreaterThan(0);
  const unfinished = await check(ledger, outcomes);
  expect(unfinished.map((o) => o.entry).sort()).toEqual(
    victims
      .filter((v) => outcomes.find((o) => o.entry === v.entry)?.code !== 0)
      .map((v) => v.entry)
      .sort(),
  );
  await retryAndComplete(ledger, outcomes, unfinished);
});

test('random SIGKILLs of leaders and followers in a burst of 64 lose nothing and double nothing', async () => {
  const ledger = await newLedger();
  const runs = entriesFor(64, 'chaos').map((e) => start(ledger, e, { LEDGER_WRITE_DELAY_MS: '15' }));
  const shuffled = [...runs].sort(() => Math.random() - 0.5).slice(0, 16);
  for (const run of shuffled) setTimeout(() => run.child.kill('SIGKILL'), Math.random() * 600);
  const outcomes = await Promise.all(runs.map((r) => r.done));
  const unfinished = await check(ledger, outcomes);
  await retryAndComplete(ledger, outcomes, unfinished);
});

test('hand-over under load (maxLeadMs 20) with requests arriving mid-commit', async () => {
  const ledger = await newLedger();
  const outcomes = await Promise.all(
    entriesFor(64, 'handover').map(
      (e) => start(ledger, e, { LEDGER_MAX_LEAD_MS: '20', LEDGER_WRITE_DELAY_MS: '10' }).done,
    ),
  );
  expect(outcomes.filter((o) => o.code !== 0)).toEqual([]);
  expect(await check(ledger, outcomes)).toEqual([]);
  const handovers = outcomes.flatMap((o) => o.events.filter((e) => e.type === 'handover'));
  expect(handovers.some((h) => h.reason === 'max-lead')).toBe(true);
  expect(outcomes.filter((o) => o.role === 'leader').length).toBeGreaterThan(1);
  expect((await ledgerOf(ledger)).entries).toHaveLength(64);
});
