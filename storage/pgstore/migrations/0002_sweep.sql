-- The queries of the Recorder's sweep (storage.Sweeper), each an index
-- range in the order Due returns, so that a sweep costs what it acts on and
-- not what is stored: ended sessions are in none of the partial indexes.
CREATE INDEX sessions_due_idle ON sessions (site, last_seen, id) WHERE NOT ended AND state <> 'dropped';
CREATE INDEX sessions_due_long ON sessions (site, first_seen, id) WHERE NOT ended AND state <> 'dropped';
CREATE INDEX sessions_due_undecided ON sessions (site, start_at, id) WHERE ended AND state = 'pending';
CREATE INDEX sessions_seen ON sessions (site, last_seen, id);
-- Superseded by sessions_due_idle, which is per site.
DROP INDEX sessions_open;

-- Sessions that have chunks and no metadata, since the store received
-- their first chunk: a row is added by Append when the session has no
-- row, and removed by PutSession and Delete. Due checks the sessions table
-- too, so a row left by an Append that raced a PutSession is harmless (and
-- removed by the session's next PutSession).
CREATE TABLE orphans (
	site    text COLLATE "C" NOT NULL,
	session text COLLATE "C" NOT NULL,
	since   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (site, session)
);
CREATE INDEX orphans_since ON orphans (site, since, session);
INSERT INTO orphans (site, session)
	SELECT DISTINCT c.site, c.session FROM chunks c
	WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.site = c.site AND s.id = c.session);
