-- Flyway migration: applied once, in version order, by the migration step (java -jar app.jar migrate).
-- IF NOT EXISTS: databases migrated by the app's earlier, hand-written step already have the table.
CREATE TABLE IF NOT EXISTS visits (
    id bigserial PRIMARY KEY,
    visited_at timestamptz NOT NULL DEFAULT now()
);
