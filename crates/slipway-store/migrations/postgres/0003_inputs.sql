-- What runs consumed (MLflow `log_inputs`) and metrics of logged models; conventions as in
-- 0001, tables as in SQLite's 0003.
CREATE TABLE datasets (
    dataset_uuid  TEXT   COLLATE "C" PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name          TEXT   COLLATE "C" NOT NULL,
    digest        TEXT   COLLATE "C" NOT NULL,
    source_type   TEXT   COLLATE "C" NOT NULL,
    source        TEXT   COLLATE "C" NOT NULL,
    schema        TEXT   COLLATE "C",
    profile       TEXT   COLLATE "C",
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_dataset_inputs (
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
    run_uuid     TEXT   COLLATE "C" NOT NULL REFERENCES runs (run_uuid),
    dataset_uuid TEXT   COLLATE "C" NOT NULL REFERENCES datasets (dataset_uuid),
    PRIMARY KEY (run_uuid, dataset_uuid)
);

CREATE TABLE dataset_input_tags (
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
    run_uuid     TEXT   COLLATE "C" NOT NULL,
    dataset_uuid TEXT   COLLATE "C" NOT NULL,
    key          TEXT   COLLATE "C" NOT NULL,
    value        TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid, key),
    FOREIGN KEY (run_uuid, dataset_uuid) REFERENCES run_dataset_inputs (run_uuid, dataset_uuid)
);

CREATE TABLE run_model_inputs (
    rowid    BIGINT GENERATED ALWAYS AS IDENTITY,
    run_uuid TEXT   COLLATE "C" NOT NULL REFERENCES runs (run_uuid),
    model_id TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
);

CREATE TABLE logged_model_metrics (
    rowid          BIGINT           GENERATED ALWAYS AS IDENTITY,
    model_id       TEXT             COLLATE "C" NOT NULL,
    key            TEXT             COLLATE "C" NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    is_nan         BIGINT           NOT NULL,
    timestamp      BIGINT           NOT NULL,
    step           BIGINT           NOT NULL,
    run_uuid       TEXT             COLLATE "C" NOT NULL REFERENCES runs (run_uuid),
    dataset_name   TEXT             COLLATE "C",
    dataset_digest TEXT             COLLATE "C",
    PRIMARY KEY (model_id, key, timestamp, step, run_uuid)
);
