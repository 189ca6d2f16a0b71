#!/usr/bin/env node
import { SystemClock } from '@nono/domain';
import { EnvReader, createLogger, exitOnSignals, printCommandLineAnswer } from '@nono/runtime';
import { startAlerts } from './alerts-service.js';
import { loadAlertsConfig } from './config.js';

const USAGE = `Usage: nono-alerts   run the alerts service: rules judged on the topics, notifications

Settings are environment variables (NONO_ALERTS_PORT, NONO_ALERTS_DB, NONO_KAFKA_BROKERS, ...):
see services/alerts/README.md.

Options:
  -h, --help      this text
  -V, --version   the version
`;

/** The composition root and the only place that reads process.env. */
const answered = printCommandLineAnswer(process.argv.slice(2), {
  name: 'nono-alerts',
  packageJson: new URL('../package.json', import.meta.url),
  usage: USAGE,
});
if (answered !== undefined) process.exit(answered);
try {
  const config = loadAlertsConfig(new EnvReader(process.env));
  const log = createLogger('alerts', config.common.logLevel);
  const alerts = await startAlerts(config, { clock: new SystemClock(), log });
  exitOnSignals(() => alerts.stop(), { log, deadlineMs: 15_000 });
} catch (error) {
  createLogger('alerts', 'fatal').fatal({ err: error }, 'alerts failed to start');
  process.exit(1);
}
