-- Promotion history: every attempt to move (or remove) a protected alias, one row each,
-- never overwritten: accepted, refused, forced past the policy, or removed. `reasons` is a
-- JSON array of the rules the version broke; `forced` is 1 when the caller asked to override
-- (with `override_reason`). Rows go with their registered model (and follow a rename).
CREATE TABLE model_promotions (
    promotion_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    model_key       INTEGER NOT NULL REFERENCES registered_models (model_key) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    alias           TEXT    NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('accepted', 'refused', 'forced', 'removed')),
    reasons         TEXT    NOT NULL,
    forced          INTEGER NOT NULL CHECK (forced IN (0, 1)),
    override_reason TEXT,
    actor           TEXT,
    creation_time   INTEGER NOT NULL
);
CREATE INDEX model_promotions_by_model ON model_promotions (model_key, promotion_id);
