-- The pending sessions of a site, oldest first, with their stored bytes:
-- PendingBytes sums them and OldestPending reads them by an index-only
-- scan, however many ended sessions the site keeps.
CREATE INDEX sessions_pending_bytes ON sessions (site, first_seen, id) INCLUDE (stored_bytes) WHERE state = 'pending';
