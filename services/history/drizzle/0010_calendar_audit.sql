CREATE TABLE `calendar_audit` (
	`event_id` text PRIMARY KEY NOT NULL,
	`calendar` text NOT NULL,
	`type` text NOT NULL,
	`actor_id` text NOT NULL,
	`actor_kind` text NOT NULL,
	`revision` integer NOT NULL,
	`before` text,
	`after` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `calendar_audit_calendar_at` ON `calendar_audit` (`calendar`,"at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `calendar_audit_actor_at` ON `calendar_audit` (`actor_id`,"at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `calendar_audit_at` ON `calendar_audit` ("at" desc,"event_id" desc);