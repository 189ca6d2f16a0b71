-- Hand-edited after drizzle-kit generate: the INSERT. From now on an execution fact is
-- recorded in processed_events under its execution's nominal instant and its id (factKey in
-- src/store/event-key.ts) instead of its bare id. A fact projected before this migration
-- belongs to an execution nominally at or before the newest one stored (retention only
-- deletes older ones; if it left none, every instant counts), so facts up to that instant
-- are also looked up under their bare id.
CREATE TABLE `projection_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `projection_meta` (`key`, `value`)
	SELECT 'bare_fact_keys_until', coalesce((SELECT max(`nominal_time`) FROM `executions`), 281474976710655)
	WHERE EXISTS (SELECT 1 FROM `processed_events`);
