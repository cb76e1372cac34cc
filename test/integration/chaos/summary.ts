// What the chaos suite counts, per scenario, and the summary it prints at the end (and writes as JSON
// to $SPIDERPOOL_TS_CHAOS_SUMMARY when set).
import { writeFileSync } from 'node:fs';
import type { CallOutcome } from '../../harness/plugin-calls.js';
import type { Audit } from './books.js';

export interface ScenarioCounts {
  scenario: string;
  /** CNI calls made (retries included). */
  cases: number;
  /** Plugin processes SIGKILLed: by the suite, or by themselves as leaders mid group commit. */
  kills: number;
  leaderKills: number;
  /** Control-plane components and operators restarted. */
  restarts: number;
  failed: number;
  /** Failed calls whose process was killed. */
  failedKilled: number;
  /** Failed calls that said "try again later" (code 11). */
  failedTryAgain: number;
  /** Failed calls that were neither: each one is a bug. */
  failedOther: string[];
  retries: number;
  duplicates: number;
  leaks: number;
  lost: number;
  miscounted: number;
  records: number;
  seconds: number;
}

export function newCounts(scenario: string): ScenarioCounts {
  return {
    scenario,
    cases: 0,
    kills: 0,
    leaderKills: 0,
    restarts: 0,
    failed: 0,
    failedKilled: 0,
    failedTryAgain: 0,
    failedOther: [],
    retries: 0,
    duplicates: 0,
    leaks: 0,
    lost: 0,
    miscounted: 0,
    records: 0,
    seconds: 0,
  };
}

/** Counts one finished call; `killedBySuite` when the suite sent the SIGKILL. */
export function count(c: ScenarioCounts, o: CallOutcome, killedBySuite: boolean, what: string): void {
  c.cases++;
  const killed = o.signal === 'SIGKILL';
  if (killed) c.kills++;
  if (o.killedAt) c.leaderKills++;
  if (killed && !killedBySuite && !o.killedAt) c.failedOther.push(`${what}: SIGKILL from nobody`);
  if (o.code === 0) return;
  c.failed++;
  if (killed) c.failedKilled++;
  else if (o.cniCode === 11) c.failedTryAgain++;
  else c.failedOther.push(`${what}: exit ${o.code}, code ${o.cniCode}: ${o.msg}`);
}

export function noteAudit(c: ScenarioCounts, a: Audit): void {
  c.duplicates = a.duplicates.length;
  c.leaks = a.leaks.length;
  c.lost = a.lost.length;
  c.miscounted = a.miscounted.length;
  c.records = a.records;
}

const columns: [keyof ScenarioCounts, string][] = [
  ['cases', 'cases'],
  ['kills', 'kills'],
  ['leaderKills', 'leaders killed'],
  ['restarts', 'restarts'],
  ['failed', 'failed'],
  ['failedKilled', 'failed, killed'],
  ['failedTryAgain', 'failed, code 11'],
  ['retries', 'retries'],
  ['duplicates', 'duplicates'],
  ['leaks', 'leaks'],
  ['seconds', 's'],
];

/** A Markdown table: one row per scenario and a total. */
export function summaryTable(all: ScenarioCounts[]): string {
  const cell = (c: ScenarioCounts, k: keyof ScenarioCounts) => {
    const v = c[k];
    return Array.isArray(v) ? String(v.length) : String(v);
  };
  const total = newCounts('total');
  for (const c of all)
    for (const [k] of columns) (total[k] as number) += (Array.isArray(c[k]) ? 0 : (c[k] as number)) as number;
  total.seconds = Math.round(total.seconds);
  const rows = [...all, total].map(
    (c) => `| ${c.scenario} | ${columns.map(([k]) => cell(c, k)).join(' | ')} | ${c.failedOther.length} |`,
  );
  return [
    `| scenario | ${columns.map(([, h]) => h).join(' | ')} | failed, other |`,
    `|---|${columns.map(() => '---:').join('|')}|---:|`,
    ...rows,
  ].join('\n');
}

export function report(all: ScenarioCounts[]): void {
  const table = summaryTable(all);
  process.stdout.write(`\nchaos summary\n${table}\n`);
  const file = process.env.SPIDERPOOL_TS_CHAOS_SUMMARY;
  if (file) writeFileSync(file, `${JSON.stringify({ scenarios: all, table }, null, 2)}\n`);
}
