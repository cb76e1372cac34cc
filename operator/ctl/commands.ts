// The four commands: read, judge with the operator's verdicts, report; `release` alone writes, and
// only what the verdicts allow. Each returns its output and exit status instead of printing, so the
// command line (main.ts) and the tests run the same code.

import { release } from '../../ipam/allocation/release.js';
import { type Audit, audit, type PooledRecord } from '../../ipam/gc/audit.js';
import {
  endpointVerdict,
  type GcContext,
  holderVerdict,
  type OwnerFacts,
  parseOwnerKey,
} from '../../ipam/gc/verdict.js';
import { podAliveness } from '../../ipam/identity/validity.js';
import type { Cluster, Switches } from './cluster.js';
import {
  type OutputFormat,
  renderAudit,
  renderHoldings,
  renderUsage,
  type Style,
  serialize,
} from './format.js';
import { addressArgument, allRecords, type Holding, holding, usageReport } from './report.js';

export interface Outcome {
  stdout: string;
  stderr?: string;
  /** 0: done / consistent; 1: not found, inconsistent, or refused. */
  code: number;
}

export interface CommandContext {
  cluster: Cluster;
  style: Style;
  now: () => number;
}

const gcContext = (switches: Switches, now: () => number): GcContext => ({
  switches: {
    enableKubevirtStaticIP: switches.enableKubevirtStaticIP,
    enableStatefulSet: switches.enableStatefulSet,
  },
  nowMs: now(),
});

const render = (format: OutputFormat, data: unknown, table: () => string) =>
  format === 'table' ? table() : serialize(data, format);

export async function poolsCommand(c: CommandContext, format: OutputFormat): Promise<Outcome> {
  const report = usageReport(await c.cluster.books());
  return { stdout: render(format, report, () => renderUsage(report, c.style)), code: 0 };
}

export async function ipCommand(c: CommandContext, address: string, format: OutputFormat): Promise<Outcome> {
  const { ip } = addressArgument(address);
  const snapshot = await c.cluster.snapshot();
  const facts = c.cluster.facts(snapshot);
  const ctx = gcContext(snapshot.switches, c.now);
  const holdings: Holding[] = allRecords(snapshot)
    .records.filter((r) => r.ip === ip)
    .map((r) => {
      const owner = parseOwnerKey(r.pod);
      const f: OwnerFacts = owner ? facts.cached(owner, [r.podUid]) : { podByUid: () => undefined };
      return holding(r, f, ctx);
    });
  const data = { address: ip, holders: holdings };
  return {
    stdout: render(format, data, () => renderHoldings(ip, holdings, c.style)),
    code: holdings.length ? 0 : 1,
  };
}

export interface CheckResult extends Audit {
  switches: Switches;
  unreadable: Array<{ pool: string; error: string }>;
}

/**
 * The audit over one snapshot; identities whose verdicts rest on something being gone are judged
 * again on fresh reads, as the operator confirms before it releases (the snapshot's lists are not
 * read at one instant: a pod created after the pod list would otherwise look gone).
 */
export async function checkBooks(c: CommandContext): Promise<CheckResult> {
  const snap = await c.cluster.snapshot();
  const facts = c.cluster.facts(snap);
  const { records, unreadable } = allRecords(snap);
  const input = {
    records,
    endpoints: snap.endpoints,
    factsOf: (o: { namespace: string; name: string }, uids: readonly string[]) => facts.cached(o, uids),
    ctx: gcContext(snap.switches, c.now),
  };
  const first = audit(input);
  const unsure = new Set(
    first.findings.filter((f) => f.kind === 'reclaim' || f.kind === 'stale-endpoint').map((f) => f.owner),
  );
  if (unsure.size === 0) return { ...first, switches: snap.switches, unreadable };
  const fresh = new Map<string, OwnerFacts>();
  for (const key of unsure) {
    const owner = parseOwnerKey(key);
    if (owner) fresh.set(key, await facts.live(owner));
  }
  const confirmed = audit({
    ...input,
    factsOf: (o, uids) => fresh.get(`${o.namespace}/${o.name}`) ?? facts.cached(o, uids),
    ctx: gcContext(snap.switches, c.now),
  });
  return { ...confirmed, switches: snap.switches, unreadable };
}

export async function checkCommand(c: CommandContext, format: OutputFormat): Promise<Outcome> {
  const result = await checkBooks(c);
  const ok = result.consistent && result.unreadable.length === 0;
  const data = { ...result, consistent: ok };
  return { stdout: render(format, data, () => renderAudit(result, c.style)), code: ok ? 0 : 1 };
}

interface Plan {
  record: PooledRecord;
  facts: OwnerFacts;
  reason: string;
}

function holderName(record: PooledRecord, facts: OwnerFacts): string {
  const pod = facts.podByUid(record.podUid);
  const name = `pod ${pod?.metadata?.namespace}/${pod?.metadata?.name} (UID ${record.podUid})`;
  const owner = parseOwnerKey(record.pod);
  return owner && owner.name !== pod?.metadata?.name ? `${name} of ${record.pod}` : name;
}

/**
 * Releases `address` when the operator's verdict says its holder is gone. A record whose holder pod
 * is alive is never released, with or without `force`; `force` releases a record the verdict keeps
 * for an identity with no live pod (a stopped VM, a StatefulSet replica between pods, a pod in its
 * grace period). Pool writes carry the read resourceVersion and are retried on a fresh read, and the
 * release matches the holder's pod UID, so an address the plugin hands to someone else meanwhile is
 * left alone.
 */
export async function releaseCommand(c: CommandContext, address: string, force: boolean): Promise<Outcome> {
  const { ip } = addressArgument(address);
  const [books, switches] = await Promise.all([c.cluster.books(), c.cluster.switches()]);
  const records = allRecords(books).records.filter((r) => r.ip === ip);
  if (records.length === 0)
    return {
      stdout: '',
      stderr: `${ip} is not allocated in any SpiderIPPool; nothing to release\n`,
      code: 1,
    };

  const live = c.cluster.liveFacts(switches);
  const plans: Plan[] = [];
  const refusals: string[] = [];
  for (const record of records) {
    const owner = parseOwnerKey(record.pod);
    if (!owner) {
      refusals.push(`${ip} in pool ${record.pool} names no valid holder (${JSON.stringify(record.pod)})`);
      continue;
    }
    const facts = await live(owner);
    const holder = facts.podByUid(record.podUid);
    if (holder && podAliveness(holder).valid) {
      refusals.push(
        `refused: ${ip} in pool ${record.pool} is held by ${holderName(record, facts)}, which is alive; ` +
          `a live holder's address is never released, also not with --force`,
      );
      continue;
    }
    const verdict = holderVerdict(owner, record.podUid, facts, gcContext(switches, c.now));
    if (!verdict.release && !force) {
      refusals.push(
        `refused: ${ip} in pool ${record.pool} is not leaked: ${verdict.reason} (held by ${record.pod}); ` +
          `no live pod holds it, so --force would release it`,
      );
      continue;
    }
    plans.push({ record, facts, reason: verdict.reason });
  }
  if (refusals.length > 0) return { stdout: '', stderr: `${refusals.join('\n')}\n`, code: 1 };

  const lines: string[] = [];
  let code = 0;
  for (const { record, facts, reason } of plans) {
    const batch = await c.cluster.io.changePool(record.pool, `release ${ip}`, (pool) =>
      release(pool, [{ owner: record.pod, podUid: record.podUid, ip: record.ip }]),
    );
    if (!batch?.released[0]?.length) {
      lines.push(`${ip} in pool ${record.pool} changed hands since it was read; nothing released`);
      code = 1;
      continue;
    }
    lines.push(
      `released ${ip} from pool ${record.pool} (held by ${record.pod}, pod UID ${record.podUid}: ${reason})`,
    );
    const owner = parseOwnerKey(record.pod);
    const ep = facts.endpoint;
    if (owner && ep?.metadata.uid && endpointVerdict(owner, facts, gcContext(switches, c.now)).delete) {
      await c.cluster.io.deleteEndpoint(owner.namespace, owner.name, ep.metadata.uid);
      lines.push(`deleted SpiderEndpoint ${record.pod}: its identity is gone`);
    }
  }
  return { stdout: `${lines.join('\n')}\n`, code };
}
