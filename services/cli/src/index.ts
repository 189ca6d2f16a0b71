export { ApiClient, fieldIssues } from './api-client.js';
export { CliError, ExitCode } from './cli-error.js';
export { type CliIo } from './context.js';
export { VERSION, runCli } from './program.js';
export { DEFAULT_API_URL, resolveSettings } from './settings.js';
