CREATE TABLE `alert_rule_audit` (
	`event_id` text PRIMARY KEY NOT NULL,
	`rule_id` text NOT NULL,
	`type` text NOT NULL,
	`actor_id` text NOT NULL,
	`actor_kind` text NOT NULL,
	`revision` integer NOT NULL,
	`before` text,
	`after` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alert_rule_audit_rule_at` ON `alert_rule_audit` (`rule_id`,"at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `alert_rule_audit_actor_at` ON `alert_rule_audit` (`actor_id`,"at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `alert_rule_audit_at` ON `alert_rule_audit` ("at" desc,"event_id" desc);