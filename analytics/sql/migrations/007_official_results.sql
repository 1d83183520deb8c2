-- A quarter's official results (正式公布结果) as frozen when announced: the ranking, the red-flag
-- grids and the excellent grid workers computed from the ledger as recorded up to the cut-off and
-- the residents of the quarter's last day. Re-freezing adds a version and keeps the earlier ones;
-- the highest version is the official one. official_ledger keeps the ledger lines each version
-- counted, so that later lines and corrections can be named (公布后更正).
CREATE TABLE official_results (
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    cutoff TIMESTAMP NOT NULL,
    residents_as_of DATE NOT NULL,
    frozen_at TIMESTAMP NOT NULL,
    frozen_by VARCHAR NOT NULL,
    reason VARCHAR,
    fingerprint VARCHAR NOT NULL,
    PRIMARY KEY (quarter, version)
);
CREATE TABLE official_ranking (
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    subdistrict_id VARCHAR,
    community_id VARCHAR,
    community_name VARCHAR,
    grid_id VARCHAR NOT NULL,
    grid_name VARCHAR,
    residents BIGINT,
    points DOUBLE,
    avg_credit DOUBLE,
    rank BIGINT,
    prev_rank BIGINT,
    rank_change BIGINT,
    red_flag BOOLEAN,
    PRIMARY KEY (quarter, version, grid_id)
);
CREATE TABLE official_workers (
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    community_id VARCHAR,
    community_name VARCHAR,
    grid_id VARCHAR NOT NULL,
    grid_name VARCHAR,
    rank BIGINT,
    avg_credit DOUBLE,
    person_id VARCHAR,
    worker_name VARCHAR,
    tickets BIGINT,
    median_days DOUBLE,
    mean_score DOUBLE,
    meets_rule BOOLEAN
);
CREATE TABLE official_ledger (
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    event_id BIGINT NOT NULL,
    grid_id VARCHAR NOT NULL,
    points DOUBLE NOT NULL
);
