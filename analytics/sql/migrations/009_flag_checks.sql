-- 已核实: an integrity flag (积分异常提示) of a grid's figures for a period, looked at by someone
-- allowed to and found in order, with why. It no longer holds the grid's award (and its grid
-- worker's); a flag of another kind, or of another period, still does.
CREATE TABLE flag_checks (
    period VARCHAR NOT NULL,
    grid_id VARCHAR NOT NULL,
    flag VARCHAR NOT NULL CHECK (flag IN ('quarter_end_spike', 'single_recorder', 'above_history')),
    checked_by VARCHAR NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    PRIMARY KEY (period, grid_id, flag)
);
