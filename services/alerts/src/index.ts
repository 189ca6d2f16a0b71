export { type AlertsConfig, loadAlertsConfig } from './config.js';
export { type RunningAlerts, startAlerts } from './alerts-service.js';
export { type NotificationContent } from './rules/alert-engine.js';
export { type AlertView } from './rules/alert-view.js';
