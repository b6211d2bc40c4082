/**
 * Readiness: each platform part registers a check; `GET /ready` runs them all (in parallel,
 * each with a timeout) and reports every part with its status and latency.
 */
export interface PartStatus {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

export class Readiness {
  private readonly checks = new Map<string, () => Promise<unknown>>();
  private readonly timeoutMs: number;

  constructor(timeoutMs = 2000) {
    this.timeoutMs = timeoutMs;
  }

  /** `check` resolves when the part works and throws (or times out) when it does not. */
  register(name: string, check: () => Promise<unknown>): void {
    this.checks.set(name, check);
  }

  async run(): Promise<{ ready: boolean; parts: Record<string, PartStatus> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]): Promise<[string, PartStatus]> => {
        const t0 = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`no answer in ${this.timeoutMs} ms`)),
                this.timeoutMs,
              );
            }),
          ]);
          return [name, { status: 'up', latencyMs: round(performance.now() - t0) }];
        } catch (e) {
          return [
            name,
            { status: 'down', latencyMs: round(performance.now() - t0), error: (e as Error).message },
          ];
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const parts = Object.fromEntries(entries);
    return { ready: entries.every(([, p]) => p.status === 'up'), parts };
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
