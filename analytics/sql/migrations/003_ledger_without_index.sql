-- The ledger keeps event_id unique without an index: the importer checks a file's ids against
-- each other and against the stored ones before it writes, and it is the only writer. An ART
-- index doubled the cost of appending a million rows (0.45 s against 0.23 s) for lookups no
-- figure makes.
CREATE TABLE credit_events_unindexed (
    event_id BIGINT NOT NULL,
    subject_type VARCHAR NOT NULL CHECK (subject_type IN ('person', 'org')),
    subject_id VARCHAR NOT NULL,
    indicator_code VARCHAR,
    points DECIMAL(8, 2) NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP,
    recorded_by VARCHAR,
    reverses_event_id BIGINT,
    note VARCHAR
);
INSERT INTO credit_events_unindexed SELECT * FROM credit_events;
DROP TABLE credit_events;
ALTER TABLE credit_events_unindexed RENAME TO credit_events;
