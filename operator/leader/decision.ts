// Leader election on a coordination.k8s.io/v1 Lease, the decisions only (no I/O, no clock): the
// rules of client-go's leaderelection. Expiry is judged by how long *this* replica has seen the
// record unchanged, never by comparing the holder's renewTime with the local clock, so clock skew
// between replicas cannot make two leaders.

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** The last record this replica saw and when (local monotonic ms) it last changed. */
export interface Observation {
  fingerprint: string;
  sinceMs: number;
}

export type Decision =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'update'; spec: LeaseSpec; acquired: boolean }
  | { action: 'wait'; holder: string; expiresInMs: number };

export function fingerprint(spec: LeaseSpec | undefined): string {
  if (!spec) return '';
  return [spec.holderIdentity ?? '', spec.renewTime ?? '', spec.leaseTransitions ?? 0].join('|');
}

/** Updates the observation: the clock restarts whenever the record changed. */
export function observe(
  prev: Observation | undefined,
  spec: LeaseSpec | undefined,
  nowMs: number,
): Observation {
  const fp = fingerprint(spec);
  return prev && prev.fingerprint === fp ? prev : { fingerprint: fp, sinceMs: nowMs };
}

/** MicroTime as the API server writes it: RFC 3339 with six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * What `identity` should do with the Lease as read now (`current` undefined: it does not exist).
 * `observation` must already include `current` (see `observe`).
 */
export function decide(
  identity: string,
  current: LeaseSpec | undefined,
  observation: Observation,
  nowMs: number,
  now: Date,
  timing: ElectionTiming,
): Decision {
  const durationSeconds = Math.ceil(timing.leaseDurationMs / 1000);
  const stamp = microTime(now);
  if (!current) {
    return {
      action: 'create',
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: 0,
      },
    };
  }
  const holder = current.holderIdentity ?? '';
  if (holder === identity) {
    return {
      action: 'update',
      acquired: false,
      spec: { ...current, leaseDurationSeconds: durationSeconds, renewTime: stamp },
    };
  }
  if (holder !== '') {
    const heldForMs = (current.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expiresInMs = observation.sinceMs + heldForMs - nowMs;
    if (expiresInMs > 0) return { action: 'wait', holder, expiresInMs };
  }
  return {
    action: 'update',
    acquired: true,
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: (current.leaseTransitions ?? 0) + 1,
    },
  };
}

/** The record a leader writes when it steps down, so a follower may take over at once. */
export function released(current: LeaseSpec, now: Date): LeaseSpec {
  return { ...current, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) };
}

/** Whether a leader whose last successful renewal was at `lastRenewMs` must stop leading. */
export function mustStepDown(lastRenewMs: number, nowMs: number, timing: ElectionTiming): boolean {
  return nowMs - lastRenewMs >= timing.renewDeadlineMs;
}

/** Validates the timing the way client-go does; the error names the setting. */
export function checkTiming(t: ElectionTiming): void {
  if (!(t.retryPeriodMs > 0))
    throw new Error(`leader election: retry period must be > 0, got ${t.retryPeriodMs} ms`);
  if (!(t.renewDeadlineMs > t.retryPeriodMs))
    throw new Error(
      `leader election: renew deadline (${t.renewDeadlineMs} ms) must be greater than the retry period (${t.retryPeriodMs} ms)`,
    );
  if (!(t.leaseDurationMs > t.renewDeadlineMs))
    throw new Error(
      `leader election: lease duration (${t.leaseDurationMs} ms) must be greater than the renew deadline (${t.renewDeadlineMs} ms)`,
    );
}
