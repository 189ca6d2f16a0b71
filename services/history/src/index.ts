/** The history service as a library: for tests, benchmarks and a future in-process deployment. */
export { loadHistoryConfig, type HistoryConfig } from './config.js';
export { startHistory, type RunningHistory } from './history-service.js';
export { buildHttpApp } from './http/http-app.js';
