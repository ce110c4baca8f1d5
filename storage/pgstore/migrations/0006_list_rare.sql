-- Listings whose filter matches rarely: each is served by an index that
-- yields the matching sessions in the listing order, or by a small exact
-- set read from an index alone (see listQuery in list.go).

-- The page paths of each session, one row per (session, distinct path), in
-- the listing order of each path: a listing by an exact path walks the
-- sessions that visited it, newest first, however rare the path. The rows
-- follow sessions.page_paths and sessions.start_at through a trigger, in
-- the transaction of the write. Paths longer than 1000 bytes have no row
-- (a btree entry must fit in a third of a page); they are found by the
-- GIN index of page_paths.
CREATE TABLE session_paths (
	site     text COLLATE "C" NOT NULL,
	path     text COLLATE "C" NOT NULL,
	start_at timestamptz NOT NULL,
	id       text COLLATE "C" NOT NULL,
	PRIMARY KEY (site, path, start_at, id)
);
-- The listing order of every site (Query.Site "").
CREATE INDEX session_paths_all ON session_paths (path, start_at, id, site);

CREATE FUNCTION session_paths_sync() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		DELETE FROM session_paths WHERE site = OLD.site AND path = ANY (OLD.page_paths)
			AND start_at = OLD.start_at AND id = OLD.id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO session_paths (site, path, start_at, id)
			SELECT DISTINCT NEW.site, p, NEW.start_at, NEW.id FROM unnest(NEW.page_paths) AS p
			WHERE octet_length(p) <= 1000;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER session_paths_write AFTER INSERT OR DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION session_paths_sync();
CREATE TRIGGER session_paths_update AFTER UPDATE OF page_paths, start_at ON sessions
	FOR EACH ROW WHEN (OLD.page_paths IS DISTINCT FROM NEW.page_paths OR OLD.start_at IS DISTINCT FROM NEW.start_at)
	EXECUTE FUNCTION session_paths_sync();

INSERT INTO session_paths (site, path, start_at, id)
	SELECT DISTINCT site, p, start_at, id FROM sessions, unnest(page_paths) AS p
	WHERE octet_length(p) <= 1000;

-- The custom event tags of each session (event_tags), one row per
-- (session, tag), in the listing order of each tag, as session_paths.
CREATE TABLE session_events (
	site     text COLLATE "C" NOT NULL,
	tag      text COLLATE "C" NOT NULL,
	start_at timestamptz NOT NULL,
	id       text COLLATE "C" NOT NULL,
	PRIMARY KEY (site, tag, start_at, id)
);
CREATE INDEX session_events_all ON session_events (tag, start_at, id, site);

CREATE FUNCTION session_events_sync() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		DELETE FROM session_events WHERE site = OLD.site AND tag = ANY (OLD.event_tags)
			AND start_at = OLD.start_at AND id = OLD.id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO session_events (site, tag, start_at, id)
			SELECT DISTINCT NEW.site, t, NEW.start_at, NEW.id FROM unnest(NEW.event_tags) AS t
			WHERE octet_length(t) <= 1000;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER session_events_write AFTER INSERT OR DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION session_events_sync();
CREATE TRIGGER session_events_update AFTER UPDATE OF event_tags, start_at ON sessions
	FOR EACH ROW WHEN (OLD.event_tags IS DISTINCT FROM NEW.event_tags OR OLD.start_at IS DISTINCT FROM NEW.start_at)
	EXECUTE FUNCTION session_events_sync();

INSERT INTO session_events (site, tag, start_at, id)
	SELECT DISTINCT site, t, start_at, id FROM sessions, unnest(event_tags) AS t
	WHERE octet_length(t) <= 1000;

-- A minimum duration: every session at least that long of the site, read
-- from this index alone, the newest sorted first; or, when most sessions
-- are that long, the listing order walked until a page is full.
DROP INDEX sessions_duration;
CREATE INDEX sessions_duration ON sessions (site, duration_ms) INCLUDE (start_at, id, state);

-- Sessions with errors in the listing order, with the columns of the
-- filters of one value each: a listing that combines Error with them
-- checks them on the index and reads the rows of candidates only. Arrays
-- (event tags, rules) are left out: an index entry must fit in a third of
-- a page, and a session may have 200 event tags.
DROP INDEX sessions_errors;
CREATE INDEX sessions_errors ON sessions (site, start_at DESC, id DESC)
	INCLUDE (state, device_key, os_key, browser_key, duration_ms)
	WHERE errors > 0;
