-- Shard and broadcast executions: the instant each belongs to, its shard, and the member that ran it.
ALTER TABLE `executions` ADD `instant_id` text;--> statement-breakpoint
ALTER TABLE `executions` ADD `shard_index` integer;--> statement-breakpoint
ALTER TABLE `executions` ADD `shard_count` integer;--> statement-breakpoint
ALTER TABLE `executions` ADD `member_url` text;