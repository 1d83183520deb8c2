-- A ledger line may deliberately depart from the indicator catalogue (points other than the
-- indicator's, or a date outside its validity), approved as an adjustment; the importer refuses
-- such a line unless it says so, and the data-quality flags list both kinds.
ALTER TABLE credit_events ADD COLUMN adjustment BOOLEAN;
