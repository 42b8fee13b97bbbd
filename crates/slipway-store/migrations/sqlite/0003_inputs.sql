-- What runs consumed (MLflow `log_inputs`): datasets, one row per experiment, name and digest
-- (logging the same dataset again reuses it); each run's dataset inputs with their tags (such
-- as `mlflow.data.context`), set when the input is first logged; and logged models. Then the
-- metrics of logged models.
CREATE TABLE datasets (
    dataset_uuid  TEXT    PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name          TEXT    NOT NULL,
    digest        TEXT    NOT NULL,
    source_type   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    schema        TEXT,
    profile       TEXT,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_dataset_inputs (
    run_uuid     TEXT NOT NULL REFERENCES runs (run_uuid),
    dataset_uuid TEXT NOT NULL REFERENCES datasets (dataset_uuid),
    PRIMARY KEY (run_uuid, dataset_uuid)
);

CREATE TABLE dataset_input_tags (
    run_uuid     TEXT NOT NULL,
    dataset_uuid TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid, key),
    FOREIGN KEY (run_uuid, dataset_uuid) REFERENCES run_dataset_inputs (run_uuid, dataset_uuid)
);

CREATE TABLE run_model_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
);

-- Metric values logged against a logged model (MLflow 3 metrics carry `model_id`, which
-- autologging sets for each fit), every value, with the run and dataset they came from.
CREATE TABLE logged_model_metrics (
    model_id       TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    value          REAL    NOT NULL,
    is_nan         INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    run_uuid       TEXT    NOT NULL REFERENCES runs (run_uuid),
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (model_id, key, timestamp, step, run_uuid)
);
