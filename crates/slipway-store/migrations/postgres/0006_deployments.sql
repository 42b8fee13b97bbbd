-- Deployments; see the SQLite migration. Conventions as in 0001.
CREATE TABLE deployments (
    name          TEXT   COLLATE "C" PRIMARY KEY,
    model         TEXT   COLLATE "C" NOT NULL,
    strategy      TEXT   COLLATE "C" NOT NULL,
    status        TEXT   COLLATE "C" NOT NULL,
    plan          TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    revision      BIGINT NOT NULL,
    lease_owner   TEXT   COLLATE "C",
    lease_until   BIGINT,
    creation_time BIGINT NOT NULL,
    last_update   BIGINT NOT NULL
);
CREATE TABLE deployment_events (
    deployment TEXT   COLLATE "C" NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    time_ms    BIGINT NOT NULL,
    kind       TEXT   COLLATE "C" NOT NULL,
    reason     TEXT   NOT NULL,
    vals       TEXT   NOT NULL,
    PRIMARY KEY (deployment, seq)
);
