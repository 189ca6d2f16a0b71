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
	`key` text,
	`value` text,
	`issues` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dead_letters_record` ON `dead_letters` (`topic`,`partition`,`offset`);--> statement-breakpoint
CREATE TABLE `execution_attempts` (
	`execution_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`status_phase` integer NOT NULL,
	`status_at` integer NOT NULL,
	`status_event_id` text NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`http_status` integer,
	`error` text,
	`duration_ms` integer,
	PRIMARY KEY(`execution_id`, `attempt`)
);
--> statement-breakpoint
CREATE TABLE `executions` (
	`execution_id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`nominal_time` integer NOT NULL,
	`fired_at` integer,
	`finished_at` integer,
	`status` text NOT NULL,
	`terminal` integer NOT NULL,
	`status_attempt` integer NOT NULL,
	`status_phase` integer NOT NULL,
	`status_at` integer NOT NULL,
	`status_event_id` text NOT NULL,
	`attempts` integer NOT NULL,
	`http_status` integer,
	`error` text,
	`duration_ms` integer,
	`late_ms` integer,
	`fired_attempt` integer,
	`scheduler_id` text NOT NULL,
	`fencing_token` integer NOT NULL,
	`reason` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `executions_task_nominal` ON `executions` (`task_id`,"nominal_time" desc,"execution_id" desc);--> statement-breakpoint
CREATE INDEX `executions_nominal` ON `executions` ("nominal_time" desc,"execution_id" desc);--> statement-breakpoint
CREATE INDEX `executions_status_nominal` ON `executions` (`status`,"nominal_time" desc);--> statement-breakpoint
CREATE INDEX `executions_scheduler_nominal` ON `executions` (`scheduler_id`,"nominal_time" desc);--> statement-breakpoint
CREATE TABLE `processed_events` (
	`event_id` text PRIMARY KEY NOT NULL,
	`projected_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scheduler_events` (
	`event_id` text PRIMARY KEY NOT NULL,
	`scheduler_id` text NOT NULL,
	`type` text NOT NULL,
	`detail` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `scheduler_events_at` ON `scheduler_events` ("at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `scheduler_events_scheduler_at` ON `scheduler_events` (`scheduler_id`,"at" desc);--> statement-breakpoint
CREATE TABLE `task_audit` (
	`event_id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`type` text NOT NULL,
	`actor_id` text NOT NULL,
	`actor_kind` text NOT NULL,
	`revision` integer,
	`before` text,
	`after` text,
	`detail` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_audit_task_at` ON `task_audit` (`task_id`,"at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `task_audit_actor_at` ON `task_audit` (`actor_id`,"at" desc,"event_id" desc);--> statement-breakpoint
CREATE INDEX `task_audit_at` ON `task_audit` ("at" desc,"event_id" desc);--> statement-breakpoint
CREATE TABLE `task_daily_stats` (
	`task_id` text NOT NULL,
	`day` text NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`timed_out` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`misfired` integer DEFAULT 0 NOT NULL,
	`lost` integer DEFAULT 0 NOT NULL,
	`duration_count` integer DEFAULT 0 NOT NULL,
	`duration_sum_ms` integer DEFAULT 0 NOT NULL,
	`duration_max_ms` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`task_id`, `day`)
);
--> statement-breakpoint
CREATE INDEX `task_daily_stats_day` ON `task_daily_stats` (`day`);