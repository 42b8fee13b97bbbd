-- Logged models (MLflow 3 `log_model`) and the model registry.
CREATE TABLE logged_models (
    model_id          TEXT    PRIMARY KEY,
    experiment_id     INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name              TEXT    NOT NULL,
    artifact_location TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    model_type        TEXT    NOT NULL,
    source_run_id     TEXT,
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    lifecycle_stage   TEXT    NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted'))
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, lifecycle_stage, creation_time);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- `last_version` is the counter versions are allocated from (never reused after a delete).
CREATE TABLE registered_models (
    model_key        INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,
    description      TEXT    NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    last_version     INTEGER NOT NULL
);

CREATE TABLE registered_model_tags (
    model_key INTEGER NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (model_key, key)
);

CREATE TABLE model_versions (
    model_key        INTEGER NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    description      TEXT    NOT NULL,
    user_id          TEXT    NOT NULL,
    current_stage    TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    storage_location TEXT    NOT NULL,
    run_id           TEXT    NOT NULL,
    run_link         TEXT    NOT NULL,
    model_id         TEXT,
    status           TEXT    NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    PRIMARY KEY (model_key, version)
);

CREATE TABLE model_version_tags (
    model_key INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (model_key, version, key),
    FOREIGN KEY (model_key, version) REFERENCES model_versions (model_key, version) ON DELETE CASCADE
);

CREATE TABLE registered_model_aliases (
    model_key INTEGER NOT NULL,
    alias     TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (model_key, alias),
    FOREIGN KEY (model_key, version) REFERENCES model_versions (model_key, version) ON DELETE CASCADE
);
