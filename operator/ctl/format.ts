// How the reports look: kubectl-style tables (cli-table3 without borders), a usage bar per pool,
// colour only on a terminal (picocolors), or the same data as JSON or YAML for scripts. Pure: every
// function returns the text to print.
import Table from 'cli-table3';
import pc from 'picocolors';
import { stringify } from 'yaml';
import type { Audit, Finding } from '../../ipam/gc/audit.js';
import type { Holding, UsageReport } from './report.js';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const outputFormats: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export interface Style {
  /** ANSI colours (a terminal that is not NO_COLOR). */
  color: boolean;
}

type Colors = ReturnType<typeof pc.createColors>;

/** The data itself, for `-o json` and `-o yaml`. */
export function serialize(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data);
}

/** A table as `kubectl get` prints one: upper-case heads, columns apart by three spaces, no borders. */
export function table(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const t = new Table({
    head: head.map((h) => h.toUpperCase()),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  t.push(...rows.map((r) => [...r]));
  return `${t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}

/** `usage` (0..1) as a bar of `width` cells, coloured green, then yellow from 80%, red from 95%. */
export function usageBar(usage: number, width: number, colors: Colors): string {
  const clamped = Math.min(1, Math.max(0, usage));
  const full = Math.round(clamped * width);
  const bar = '█'.repeat(full) + '░'.repeat(width - full);
  const paint = clamped >= 0.95 ? colors.red : clamped >= 0.8 ? colors.yellow : colors.green;
  return paint(bar);
}

export function percent(usage: number): string {
  return `${(Math.round(usage * 1000) / 10).toFixed(1)}%`;
}

export function renderUsage(report: UsageReport, style: Style): string {
  const c = pc.createColors(style.color);
  const pools = table(
    ['pool', 'subnet', 'allocated', 'total', 'free', 'usage', ''],
    report.pools.map((p) => [
      p.disabled ? `${p.name} ${c.dim('(disabled)')}` : p.name,
      p.subnet,
      String(p.allocated),
      p.total,
      p.free,
      percent(p.usage),
      p.error ? c.red(`unreadable: ${p.error}`) : usageBar(p.usage, 20, c),
    ]),
  );
  if (report.subnets.length === 0) return report.pools.length ? pools : 'No SpiderIPPools.\n';
  const subnets = table(
    ['subnet', 'cidr', 'pools', 'allocated', 'total', 'usage', ''],
    report.subnets.map((s) => [
      s.name,
      s.subnet,
      s.pools.join(',') || '-',
      String(s.allocated),
      s.total,
      percent(s.usage),
      usageBar(s.usage, 20, c),
    ]),
  );
  return `${pools}\n${subnets}`;
}

export function renderHoldings(address: string, holdings: readonly Holding[], style: Style): string {
  const c = pc.createColors(style.color);
  if (holdings.length === 0) return `${address} is not allocated in any SpiderIPPool.\n`;
  return holdings
    .map((h) => {
      const lines: Array<[string, string]> = [
        ['address', `${h.address}${h.nic ? ` on ${h.nic}` : ''}`],
        ['pool', h.pool],
        ['identity', `${h.identity} (${h.kind})`],
        [
          'pod',
          h.pod
            ? `${h.pod.namespace}/${h.pod.name} uid ${h.podUid}${h.pod.phase ? `, ${h.pod.phase}` : ''}`
            : c.yellow(`none with uid ${h.podUid}`),
        ],
      ];
      if (h.vm) lines.push(['vm', `${h.vm.namespace}/${h.vm.name} (VM ${h.vm.vm}, VMI ${h.vm.vmi})`]);
      lines.push([
        'endpoint',
        h.endpoint
          ? `${h.endpoint.namespace}/${h.endpoint.name}, owner ${h.endpoint.owner}`
          : c.yellow('none'),
      ]);
      lines.push(['node', h.node ?? '-']);
      lines.push(['since', h.since ?? '-']);
      lines.push([
        'verdict',
        h.verdict.release ? c.red(`leaked: ${h.verdict.reason}`) : c.green(`held: ${h.verdict.reason}`),
      ]);
      const width = Math.max(...lines.map(([k]) => k.length));
      return lines.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}\n`).join('');
    })
    .join('\n');
}

function findingRow(f: Finding): string[] {
  switch (f.kind) {
    case 'reclaim':
    case 'pending':
    case 'no-endpoint':
      return [f.kind, f.ip, f.pool, f.owner, f.podUid, f.reason];
    case 'unrecorded':
      return [f.kind, f.ip, f.pool, f.owner, '-', f.reason];
    case 'stale-endpoint':
      return [f.kind, '-', '-', f.owner, '-', f.reason];
  }
}

export function renderAudit(
  result: Audit & { unreadable: ReadonlyArray<{ pool: string; error: string }> },
  style: Style,
): string {
  const c = pc.createColors(style.color);
  const summary = `${result.records} records of ${result.identities} identities checked: `;
  const rows = [
    ...result.findings.map(findingRow),
    ...result.unreadable.map((u) => ['unreadable', '-', u.pool, '-', '-', u.error]),
  ];
  const problems = rows.length - result.findings.filter((f) => f.kind === 'pending').length;
  const verdict =
    result.consistent && result.unreadable.length === 0
      ? c.green('consistent')
      : c.red(`${problems} problem${problems === 1 ? '' : 's'}`);
  const head = `${summary}${verdict}\n`;
  if (rows.length === 0) return head;
  return `${table(['finding', 'address', 'pool', 'identity', 'pod uid', 'why'], rows)}${head}`;
}
