// The Event writes' own lane: at most `maxInFlight` requests open at once, at most `maxQueued`
// waiting behind them, and anything beyond that dropped on arrival. An operator that restarts with
// thousands of young endpoints would otherwise open one request per Event at once (measured: ~9,800
// requests open and 418 MiB at 10,000 pods); Events are messages, so losing the excess is the right
// trade, as client-go's broadcaster drops past its queue of 1,000 (docs/operator.md, "Events").

export interface WriteQueuePolicy {
  /** Writes running at once. */
  maxInFlight: number;
  /** Writes waiting for a free slot; a submission beyond this is dropped. */
  maxQueued: number;
}

export interface WriteQueueStats {
  inFlight: number;
  queued: number;
  /** The most writes ever running at once. */
  peakInFlight: number;
  /** Submissions dropped because the queue was full. */
  dropped: number;
}

type Task = () => Promise<void>;

export class WriteQueue {
  private readonly waiting: Array<{ task: Task; done: () => void }> = [];
  private running = 0;
  private peak = 0;
  private droppedCount = 0;

  constructor(
    private readonly policy: WriteQueuePolicy,
    /** Told whenever the number of writes in flight changes (the recorder's gauge). */
    private readonly onInFlight: (inFlight: number) => void = () => {},
  ) {
    for (const [field, min] of [
      ['maxInFlight', 1],
      ['maxQueued', 0],
    ] as const) {
      const value = policy[field];
      if (!Number.isInteger(value) || value < min)
        throw new Error(`event write queue: ${field} must be a whole number >= ${min}, got ${value}`);
    }
  }

  /**
   * Runs `task` now or once a slot frees. Resolves true when the task has finished (its own errors
   * are the task's to handle: a rejection is swallowed here so one failed write never stalls the
   * lane), false at once when the queue was full and the task was dropped.
   */
  submit(task: Task): Promise<boolean> {
    if (this.running < this.policy.maxInFlight) return this.start(task).then(() => true);
    if (this.waiting.length >= this.policy.maxQueued) {
      this.droppedCount++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      this.waiting.push({ task, done: () => resolve(true) });
    });
  }

  get stats(): WriteQueueStats {
    return {
      inFlight: this.running,
      queued: this.waiting.length,
      peakInFlight: this.peak,
      dropped: this.droppedCount,
    };
  }

  private async start(task: Task): Promise<void> {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    this.onInFlight(this.running);
    try {
      await task();
    } catch {
      // The task reports its own failures; the lane only has to stay open.
    } finally {
      this.running--;
      this.onInFlight(this.running);
      const next = this.waiting.shift();
      if (next) void this.start(next.task).then(next.done);
    }
  }
}
