-- Deployments (slipway deploy): one row per deployment, its plan and state as JSON (the
-- rollout crate's types), a revision for compare-and-set updates, and the lease of the
-- replica that drives its steps; every state change as an event with its reason and the
-- values it was decided on.
CREATE TABLE deployments (
    name          TEXT    PRIMARY KEY,
    model         TEXT    NOT NULL,
    strategy      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    plan          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    lease_owner   TEXT,
    lease_until   INTEGER,
    creation_time INTEGER NOT NULL,
    last_update   INTEGER NOT NULL
);
CREATE TABLE deployment_events (
    deployment TEXT    NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    time_ms    INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    vals       TEXT    NOT NULL,
    PRIMARY KEY (deployment, seq)
);
