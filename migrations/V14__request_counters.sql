-- Per-minute request limits of machines (API keys, M2M clients and their tokens), counted on
-- every request in the statement that finds the machine. One counter row per machine would be
-- a hot row: every request of a busy key would wait for the one before it to commit, and walk
-- the dead versions it left. So a machine's count is spread over eight rows (each request
-- picks one at random), and the limit checks their sum for the last minute: of concurrent
-- requests at the limit, up to seven may pass it. UNLOGGED: a counter is not worth a WAL
-- write; a crash or a failover resets the counts, which a rate limit can afford, and a request
-- that writes nothing else commits without waiting for a flush.
CREATE UNLOGGED TABLE request_counters (
    quota         text NOT NULL,
    subject       uuid NOT NULL,
    shard         smallint NOT NULL,
    hits          integer NOT NULL DEFAULT 1,
    window_start  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (quota, subject, shard)
);
-- Pruned with the other counters.
CREATE INDEX request_counters_window_idx ON request_counters (window_start);
