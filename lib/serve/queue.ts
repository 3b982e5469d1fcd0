/**
 * The server's queue: at most `concurrency` runs at once, at most `max` waiting, and the runs of
 * one thread (conversation) one after another, in the order they came. A waiting run of a busy
 * thread lets the next one of another thread go first rather than hold a place doing nothing.
 */

export interface Job {
  /** The thread: jobs with the same key never run at the same time. */
  key: string;
  start: () => Promise<unknown>;
  /** The job will not run (the server is stopping). */
  cancel: () => void;
  /** Its place in the queue changed: 1 is next. */
  onPosition: (position: number) => void;
}

export class RunQueue {
  private readonly waiting: Job[] = [];
  private readonly running = new Set<Job>();
  private readonly positions = new Map<Job, number>();
  private closed = false;

  constructor(
    private readonly concurrency: number,
    readonly max: number,
    private readonly changed: (depth: number, running: number) => void = () => {},
  ) {}

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running.size;
  }

  /** False when the queue is full or closed: the caller answers 429 (or 503). */
  add(job: Job): boolean {
    if (this.closed || this.waiting.length >= this.max) return false;
    this.waiting.push(job);
    this.pump();
    return true;
  }

  /** No more runs start; those waiting are cancelled. Running ones go on. */
  close(): void {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.cancel();
    this.changed(0, this.running.size);
  }

  private pump(): void {
    const busy = new Set([...this.running].map((j) => j.key));
    for (let i = 0; i < this.waiting.length && this.running.size < this.concurrency; ) {
      const job = this.waiting[i]!;
      if (busy.has(job.key)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.positions.delete(job);
      this.running.add(job);
      busy.add(job.key);
      void job.start().catch(() => {}).finally(() => {
        this.running.delete(job);
        if (!this.closed) this.pump();
        this.changed(this.waiting.length, this.running.size);
      });
    }
    this.waiting.forEach((job, i) => {
      if (this.positions.get(job) === i + 1) return;
      this.positions.set(job, i + 1);
      job.onPosition(i + 1);
    });
    this.changed(this.waiting.length, this.running.size);
  }
}
