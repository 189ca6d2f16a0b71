ALTER TABLE `execution_attempts` ADD `member_group` text;--> statement-breakpoint
ALTER TABLE `execution_attempts` ADD `member_url` text;--> statement-breakpoint
CREATE INDEX `execution_attempts_member_started` ON `execution_attempts` (`member_group`,`started_at`);