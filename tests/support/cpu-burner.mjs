// Burns one core, for CPU-starvation tests. It stops by itself when its parent is gone or
// BURN_MS has passed: a test runner killed mid-run must not leave burners on a shared machine.
const parent = process.ppid;
const until = Date.now() + Number(process.env.BURN_MS ?? 180_000);
while (Date.now() < until && process.ppid === parent) {
  for (let i = 0; i < 5_000_000; i++);
}
