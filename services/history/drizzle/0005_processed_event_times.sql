-- processed_events is now one table for every service (libs/projection): `at` records when an id
-- was taken in, for a service that forgets ids after a while. History keeps its ids for good and
-- leaves it null (a byte per row).
ALTER TABLE `processed_events` ADD `at` integer;