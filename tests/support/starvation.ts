import { type RunningProcess, startProcess } from './processes.js';

/** CPU-starvation helpers for chaos tests and the bench scripts that reproduce crashes under load. */
export interface CpuBurners {
  readonly count: number;
  /** Kills every burner (SIGKILL) and waits until they are gone. */
  stop(): Promise<void>;
}

/**
 * Starts `count` processes that each spin one core. They end on `stop`, when this process
 * exits (processes.ts kills its children), when they notice their parent is gone, or after
 * `maxMs`, whichever comes first.
 */
export function startCpuBurners(count: number, maxMs = 180_000): CpuBurners {
  const burners: RunningProcess[] = [];
  for (let i = 0; i < count; i++)
    burners.push(startProcess(`cpu-burner-${i}`, 'tests/support/cpu-burner.mjs', { BURN_MS: String(maxMs) }));
  return {
    count,
    async stop() {
      await Promise.all(burners.map((burner) => burner.kill('SIGKILL')));
    },
  };
}

/** Freezes a process with SIGSTOP for `ms`, then resumes it with SIGCONT. */
export async function freeze(target: RunningProcess, ms: number): Promise<void> {
  target.child.kill('SIGSTOP');
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    target.child.kill('SIGCONT');
  }
}

/** How a process ended, as recorded when it did. */
export interface Death {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: string;
  readonly logFile: string;
}

/**
 * Watches processes that must stay alive: every exit before `release` is recorded (with the
 * signal, e.g. SIGABRT from a native assertion), so a test can require that none died.
 */
export function watchForDeaths(processes: readonly RunningProcess[]): {
  readonly deaths: readonly Death[];
  release(): void;
} {
  const deaths: Death[] = [];
  let released = false;
  for (const proc of processes)
    proc.child.once('exit', (code, signal) => {
      if (!released)
        deaths.push({ name: proc.name, code, signal, at: new Date().toISOString(), logFile: proc.logFile });
    });
  return {
    deaths,
    release() {
      released = true;
    },
  };
}
