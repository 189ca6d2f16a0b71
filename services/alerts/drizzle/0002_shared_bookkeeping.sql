-- Hand-edited after drizzle-kit generate. The bookkeeping tables become history's
-- (libs/projection, one definition for both services):
-- * processed_events: WITHOUT ROWID (drizzle cannot declare it), ids converted as eventKey() in
--   libs/projection/src/event-key.ts does (a canonical lowercase UUID becomes its 16 bytes, any
--   other id stays text), `at` kept. From now on an execution fact is recorded under its nominal
--   instant and its id (factKey). A fact recorded before this migration is under its bare id, and
--   its execution is nominally at or before the last time an id was recorded (a scheduler
--   publishes a fact after its instant); a day is added for clocks that disagree. Facts up to that
--   instant are also looked up under their bare id (projection_meta.bare_fact_keys_until).
-- * dead_letters: the record's key and value are kept too (null for the older rows).
CREATE TABLE `projection_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `projection_meta` (`key`, `value`)
	SELECT 'bare_fact_keys_until', (SELECT max(`at`) FROM `processed_events`) + 86400000
	WHERE EXISTS (SELECT 1 FROM `processed_events`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_processed_events` (
	`event_id` blob PRIMARY KEY NOT NULL,
	`at` integer
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_processed_events`("event_id", "at")
	SELECT CASE WHEN "event_id" GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
		THEN unhex(replace("event_id", '-', '')) ELSE "event_id" END, "at"
	FROM `processed_events`;--> statement-breakpoint
DROP TABLE `processed_events`;--> statement-breakpoint
ALTER TABLE `__new_processed_events` RENAME TO `processed_events`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
ALTER TABLE `dead_letters` ADD `key` text;--> statement-breakpoint
ALTER TABLE `dead_letters` ADD `value` text;
