// A test program for node-local coordination, compiled with the plugin's own Bun flags: it appends
// one unique entry to a ledger (a ConfigMap) on the real API server and prints the entry's index.
// Many copies run at once; with LEDGER_MODE=coordinated (default) they share writes through
// cni/coordination exactly as the plugin does, with LEDGER_MODE=naive each does its own
// read-modify-write (the baseline of bench/cni-coordination.ts).
//
// Appending is idempotent (an entry already present is not added again), as every request through
// coordinate() must be. Kill points for tests: LEDGER_CRASH_AT=before-read|after-read|after-write|
// after-answer makes the first leader that reaches that point with a batch of two or more SIGKILL
// itself; LEDGER_CRASH_MARKER (a file created exclusively) makes sure only one process does.
//
// Environment: LEDGER_KUBECONFIG, LEDGER_NAMESPACE, LEDGER_NAME, LEDGER_ENTRY, LEDGER_NODE,
// optional LEDGER_WRITE_DELAY_MS, LEDGER_IDLE_MS, LEDGER_MAX_LEAD_MS. Prints
// {"entry","index","role","attempts","ms"} on stdout and protocol events as JSON lines on stderr.
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { type Answer, coordinate, settled } from '../../cni/coordination/coordinate.js';
import { scopeName } from '../../cni/coordination/scope.js';

type CrashPoint = 'before-read' | 'after-read' | 'after-write' | 'after-answer';

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function crash(point: CrashPoint, batch: string[]): void {
  if (process.env.LEDGER_CRASH_AT !== point || batch.length < 2) return;
  try {
    closeSync(openSync(need('LEDGER_CRASH_MARKER'), 'wx'));
  } catch {
    return; // another process already crashed
  }
  const own = batch.includes(process.env.LEDGER_ENTRY ?? '');
  process.stderr.write(`${JSON.stringify({ type: 'crash', point, size: batch.length, own })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Appends entries (those not there yet) and returns each one's index. The API client is loaded on
 * first use: with coordination only leaders ever call this, so followers never load client-node.
 */
async function appender(
  kubeconfig: string,
  namespace: string,
  name: string,
): Promise<(entries: string[]) => Promise<number[]>> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const { loadKubeConfig } = await import('../../kube/client.js');
  const { readModifyWrite } = await import('../../kube/optimistic.js');
  const core = loadKubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  const delayMs = Number(process.env.LEDGER_WRITE_DELAY_MS ?? 0);
  return (entries) =>
    readModifyWrite(
      () => core.readNamespacedConfigMap({ name, namespace }),
      (cm: V1ConfigMap) => {
        const ledger = JSON.parse(cm.data?.entries ?? '[]') as string[];
        const missing = entries.filter((e, i) => !ledger.includes(e) && entries.indexOf(e) === i);
        const next = [...ledger, ...missing];
        const result = entries.map((e) => next.indexOf(e));
        if (missing.length === 0) return { result };
        const writes = Number(cm.data?.writes ?? 0) + 1;
        return {
          write: { ...cm, data: { ...cm.data, entries: JSON.stringify(next), writes: String(writes) } },
          result,
        };
      },
      async (next) => {
        crash('after-read', entries);
        if (delayMs) await sleep(delayMs);
        const written = await core.replaceNamespacedConfigMap({ name, namespace, body: next });
        crash('after-write', entries);
        return written;
      },
      { deadlineMs: 120_000 },
    );
}

async function main(): Promise<void> {
  const started = performance.now();
  const kubeconfig = need('LEDGER_KUBECONFIG');
  const namespace = need('LEDGER_NAMESPACE');
  const name = need('LEDGER_NAME');
  const entry = need('LEDGER_ENTRY');
  let append: ((entries: string[]) => Promise<number[]>) | undefined;
  const appendOnce = async (entries: string[]) => {
    append ??= await appender(kubeconfig, namespace, name);
    return append(entries);
  };

  let out: { index: number; role: string; attempts: number };
  if (process.env.LEDGER_MODE === 'naive') {
    const [index] = await appendOnce([entry]);
    out = { index: index ?? -1, role: 'naive', attempts: 1 };
  } else {
    let lastBatch: string[] = [];
    const coordinated = await coordinate<string, number>(entry, {
      // The kubeconfig's path stands for its API server (each test cluster has its own file), as the
      // plugin names its scope by its kubeconfig without parsing it.
      name: scopeName(need('LEDGER_NODE'), kubeconfig, name),
      ...(process.env.LEDGER_IDLE_MS ? { idleMs: Number(process.env.LEDGER_IDLE_MS) } : {}),
      ...(process.env.LEDGER_MAX_LEAD_MS ? { maxLeadMs: Number(process.env.LEDGER_MAX_LEAD_MS) } : {}),
      handleBatch: async (entries): Promise<Answer<number>[]> => {
        lastBatch = entries;
        crash('before-read', entries);
        const indices = await appendOnce(entries);
        return indices.map((value) => ({ ok: true, value }));
      },
      onEvent: (event) => {
        process.stderr.write(`${JSON.stringify(event)}\n`);
        if (event.type === 'answered') crash('after-answer', lastBatch);
      },
    });
    out = { index: coordinated.value, role: coordinated.role, attempts: coordinated.attempts };
  }
  process.stdout.write(`${JSON.stringify({ entry, ...out, ms: Math.round(performance.now() - started) })}\n`);
  await settled();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${JSON.stringify({ type: 'failed', error: String(err) })}\n`);
    process.exit(1);
  },
);
