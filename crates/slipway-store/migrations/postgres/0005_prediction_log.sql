-- The prediction log's index; see the SQLite migration. Conventions as in 0001.
CREATE TABLE prediction_log_segments (
    path          TEXT   COLLATE "C" PRIMARY KEY,
    kind          TEXT   COLLATE "C" NOT NULL CHECK (kind IN ('predictions', 'feedback')),
    model         TEXT   COLLATE "C" NOT NULL,
    version       TEXT   COLLATE "C" NOT NULL,
    n_rows        BIGINT NOT NULL,
    min_id        TEXT   COLLATE "C" NOT NULL,
    max_id        TEXT   COLLATE "C" NOT NULL,
    first_ms      BIGINT NOT NULL,
    last_ms       BIGINT NOT NULL,
    creation_time BIGINT NOT NULL
);
CREATE INDEX prediction_log_segments_by_model ON prediction_log_segments (kind, model, version, first_ms);
CREATE INDEX prediction_log_segments_by_id ON prediction_log_segments (kind, min_id);
