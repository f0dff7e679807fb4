-- Issue 32: quotas on what mails or grows without bound. A counter per quota and subject (an
-- organization, an invitation, an account), one upsert in the transaction of the write it
-- limits: a refused write rolls its count back, and concurrent writes queue on the row.
CREATE TABLE quota_counters (
    quota         text NOT NULL,
    subject       uuid NOT NULL,
    hits          integer NOT NULL DEFAULT 1,
    window_start  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (quota, subject)
);
-- Pruned with the per-IP counters, by the end of their window.
CREATE INDEX quota_counters_window_idx ON quota_counters (window_start);
