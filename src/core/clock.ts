/** Time comes in through this, so tests can run a day of schedules in a second. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      // The listener goes when the wait ends: a worker's stop signal lives as long as the process.
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** A clock that only moves when told to. `sleep` advances it instantly. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string = "2026-01-01T00:00:00Z") {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): Date {
    this.t += ms;
    return this.now();
  }
  set(d: Date | string): void {
    this.t = new Date(d).getTime();
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}
