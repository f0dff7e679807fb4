-- Requests per client address and action in a fixed window (DESIGN §7 per-IP limits). The
-- counter is taken in one upsert, so concurrent Lambdas cannot race past a limit. `client`
-- is an IPv4 address or an IPv6 /64, the block one subscriber usually holds.
CREATE TABLE ip_limits (
    action        text NOT NULL,
    client        text NOT NULL,
    window_start  timestamptz NOT NULL DEFAULT now(),
    hits          integer NOT NULL DEFAULT 1,
    PRIMARY KEY (action, client)
);
