#!/usr/bin/env node
import { SystemClock } from '@nono/domain';
import { EnvReader, createLogger, exitOnSignals } from '@nono/runtime';
import { startAlerts } from './alerts-service.js';
import { loadAlertsConfig } from './config.js';

/** The composition root and the only place that reads process.env. */
try {
  const config = loadAlertsConfig(new EnvReader(process.env));
  const log = createLogger('alerts', config.common.logLevel);
  const alerts = await startAlerts(config, { clock: new SystemClock(), log });
  exitOnSignals(() => alerts.stop(), { log, deadlineMs: 15_000 });
} catch (error) {
  createLogger('alerts', 'fatal').fatal({ err: error }, 'alerts failed to start');
  process.exit(1);
}
