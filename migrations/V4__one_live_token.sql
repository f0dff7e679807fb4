-- At most one unspent token per user and purpose, so that "only the newest link works" holds
-- under concurrency too: two password resets asked at once each replaced the other's unused
-- token before either had committed, leaving both alive. Issuing is now one upsert on this
-- index. Older duplicates are spent first.
UPDATE one_time_tokens t SET used_at = now()
    WHERE used_at IS NULL
      AND EXISTS (SELECT 1 FROM one_time_tokens n
                  WHERE n.user_id = t.user_id AND n.purpose = t.purpose AND n.used_at IS NULL
                    AND (n.created_at, n.id) > (t.created_at, t.id));
CREATE UNIQUE INDEX one_time_tokens_live_key ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL;
