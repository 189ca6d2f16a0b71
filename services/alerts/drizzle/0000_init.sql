CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`rule_id` text NOT NULL,
	`rule_revision` integer NOT NULL,
	`task_id` text NOT NULL,
	`condition` text NOT NULL,
	`state` text NOT NULL,
	`summary` text NOT NULL,
	`execution_id` text,
	`nominal_time` integer,
	`opened_at` integer NOT NULL,
	`resolved_at` integer,
	`resolve_reason` text,
	`occurrences` integer NOT NULL,
	`notifications` integer NOT NULL,
	`last_notified_at` integer NOT NULL,
	`acknowledged_at` integer,
	`acknowledged_by` text,
	`acknowledge_note` text,
	`silenced_until` integer,
	`silenced_by` text,
	`silence_note` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_open_rule_task` ON `alerts` (`rule_id`,`task_id`) WHERE "alerts"."state" = 'open';--> statement-breakpoint
CREATE INDEX `alerts_state_opened` ON `alerts` (`state`,"opened_at" desc);--> statement-breakpoint
CREATE INDEX `alerts_task_opened` ON `alerts` (`task_id`,"opened_at" desc);--> statement-breakpoint
CREATE TABLE `consumer_offsets` (
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`next_offset` integer NOT NULL,
	PRIMARY KEY(`topic`, `partition`)
);
--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`offset` integer NOT NULL,
	`issues` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dead_letters_record` ON `dead_letters` (`topic`,`partition`,`offset`);--> statement-breakpoint
CREATE TABLE `dead_man_marks` (
	`rule_id` text NOT NULL,
	`task_id` text NOT NULL,
	`checked_until` integer NOT NULL,
	PRIMARY KEY(`rule_id`, `task_id`)
);
--> statement-breakpoint
CREATE TABLE `event_outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`json` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `event_outbox_event_id_unique` ON `event_outbox` (`event_id`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`idempotency_key` text NOT NULL,
	`channel_index` integer NOT NULL,
	`channel` text NOT NULL,
	`alert_id` text NOT NULL,
	`transition` text NOT NULL,
	`content` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_key_channel` ON `notifications` (`idempotency_key`,`channel_index`);--> statement-breakpoint
CREATE INDEX `notifications_due` ON `notifications` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `processed_events` (
	`event_id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rules` (
	`id` text PRIMARY KEY NOT NULL,
	`revision` integer NOT NULL,
	`document` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `succeeded_instants` (
	`task_id` text NOT NULL,
	`nominal_time` integer NOT NULL,
	PRIMARY KEY(`task_id`, `nominal_time`)
);
--> statement-breakpoint
CREATE TABLE `task_definitions` (
	`task_id` text NOT NULL,
	`at` integer NOT NULL,
	`event_id` text NOT NULL,
	`task` text,
	PRIMARY KEY(`task_id`, `at`, `event_id`)
);
--> statement-breakpoint
CREATE TABLE `task_streaks` (
	`task_id` text PRIMARY KEY NOT NULL,
	`consecutive_failures` integer NOT NULL
);
