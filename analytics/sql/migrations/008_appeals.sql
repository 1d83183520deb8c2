-- 异议申诉: an objection to a ledger line (event_id) or to a quarter's ranking of a grid (quarter +
-- grid_id), raised during the 公示期 of the monthly publication and tracked to a decision. An
-- upheld appeal is put right by a new ledger event (the ledger stays append-only) that carries the
-- appeal's id, and the appeal names that event.
CREATE TABLE appeals (
    appeal_id VARCHAR PRIMARY KEY,
    event_id BIGINT,
    quarter VARCHAR CHECK (quarter IS NULL OR regexp_full_match(quarter, '\d{4}Q[1-4]')),
    grid_id VARCHAR,
    raised_by VARCHAR,
    raised_by_name VARCHAR,
    raised_on DATE NOT NULL,
    reason VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'upheld', 'rejected')),
    decided_on DATE,
    decision_reason VARCHAR,
    correcting_event_id BIGINT,
    CHECK (event_id IS NOT NULL OR (quarter IS NOT NULL AND grid_id IS NOT NULL)),
    CHECK (decided_on IS NULL OR decided_on >= raised_on)
);
ALTER TABLE credit_events ADD COLUMN appeal_id VARCHAR;
