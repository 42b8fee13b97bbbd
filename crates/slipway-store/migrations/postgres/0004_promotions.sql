-- Promotion history; see the SQLite migration. Conventions as in 0001.
CREATE TABLE model_promotions (
    promotion_id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_key       BIGINT NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    version         BIGINT NOT NULL,
    alias           TEXT   COLLATE "C" NOT NULL,
    outcome         TEXT   COLLATE "C" NOT NULL CHECK (outcome IN ('accepted', 'refused', 'forced', 'removed')),
    reasons         TEXT   COLLATE "C" NOT NULL,
    forced          BIGINT NOT NULL CHECK (forced IN (0, 1)),
    override_reason TEXT   COLLATE "C",
    actor           TEXT   COLLATE "C",
    creation_time   BIGINT NOT NULL
);
CREATE INDEX model_promotions_by_model ON model_promotions (model_key, promotion_id);
