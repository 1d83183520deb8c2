-- One row per import or undo, written in the same file version as the data it describes.
CREATE TABLE import_log (
    import_id INTEGER PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    user_name VARCHAR,
    file_name VARCHAR,
    file_sha256 VARCHAR,
    tables VARCHAR,
    rows_added BIGINT DEFAULT 0,
    rows_updated BIGINT DEFAULT 0,
    rows_skipped BIGINT DEFAULT 0,
    rows_rejected BIGINT DEFAULT 0,
    status VARCHAR NOT NULL CHECK (status IN ('imported', 'rejected', 'undone')),
    backup_path VARCHAR,
    message VARCHAR,
    undoes INTEGER
);
