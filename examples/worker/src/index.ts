export { buildWorker, type ExampleWorkerOptions, type LastRun } from './app.js';
export { FencedRegister } from './fenced-register.js';
export { createJobs, fnv1a32 } from './jobs.js';
