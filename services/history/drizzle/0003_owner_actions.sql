-- Hand-edited after drizzle-kit generate: WITHOUT ROWID (drizzle cannot declare it), so the
-- table is one B-tree ordered by its key. Starts empty: actions projected before this
-- migration are not recovered from the executions table (which keeps one scheduler and
-- fencing token per execution); a rebuild records them all.
CREATE TABLE `owner_actions` (
	`task_id` text NOT NULL,
	`nominal_time` integer NOT NULL,
	`execution_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`kind` text NOT NULL,
	`scheduler_id` text NOT NULL,
	`fencing_token` integer NOT NULL,
	`at` integer NOT NULL,
	`detail` text,
	PRIMARY KEY(`task_id`, `nominal_time`, `execution_id`, `attempt`, `kind`, `scheduler_id`, `fencing_token`)
) WITHOUT ROWID;
