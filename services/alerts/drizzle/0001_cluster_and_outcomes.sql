CREATE TABLE `cluster_marks` (
	`name` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scheduler_members` (
	`scheduler_id` text PRIMARY KEY NOT NULL,
	`live` integer NOT NULL,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `task_outcomes` (
	`task_id` text NOT NULL,
	`at` integer NOT NULL,
	`execution_id` text NOT NULL,
	`succeeded` integer NOT NULL,
	PRIMARY KEY(`task_id`, `at`, `execution_id`)
);
