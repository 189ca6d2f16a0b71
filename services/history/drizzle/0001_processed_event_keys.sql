-- Hand-edited after drizzle-kit generate: WITHOUT ROWID (drizzle cannot declare it), and
-- event ids converted like eventKey() in src/store/event-key.ts does: a canonical lowercase
-- UUID becomes its 16 bytes, any other id stays text.
CREATE TABLE `__new_processed_events` (
	`event_id` blob PRIMARY KEY NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_processed_events`("event_id")
	SELECT CASE WHEN "event_id" GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
		THEN unhex(replace("event_id", '-', '')) ELSE "event_id" END
	FROM `processed_events`;--> statement-breakpoint
DROP TABLE `processed_events`;--> statement-breakpoint
ALTER TABLE `__new_processed_events` RENAME TO `processed_events`;
