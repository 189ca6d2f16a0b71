export { buildWorker, type LastRun, type WorkerOptions } from './app.js';
export { FencedRegister } from './fenced-register.js';
export { RecentKeys } from './recent-keys.js';
export { createJobs, fnv1a32 } from './jobs.js';
