-- The prediction log's index: one row per Parquet segment the inference server wrote under
-- the artifact store's _prediction_log/ (a model version's scored rows, or a batch of
-- feedback), with the range of prediction ids (hyphenated UUIDv7: text order is time order)
-- and of times (UTC milliseconds) it holds. model and version are '' for feedback.
CREATE TABLE prediction_log_segments (
    path          TEXT    PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('predictions', 'feedback')),
    model         TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    n_rows        INTEGER NOT NULL,
    min_id        TEXT    NOT NULL,
    max_id        TEXT    NOT NULL,
    first_ms      INTEGER NOT NULL,
    last_ms       INTEGER NOT NULL,
    creation_time INTEGER NOT NULL
);
CREATE INDEX prediction_log_segments_by_model ON prediction_log_segments (kind, model, version, first_ms);
CREATE INDEX prediction_log_segments_by_id ON prediction_log_segments (kind, min_id);
