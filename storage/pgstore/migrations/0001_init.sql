-- Sessions: one row per (site, id), every filterable fact a typed column.
-- Ids and URLs compare byte by byte (COLLATE "C"), as Go strings do.
CREATE TABLE sessions (
	site           text COLLATE "C" NOT NULL,
	id             text COLLATE "C" NOT NULL,
	state          text NOT NULL,
	start_at       timestamptz NOT NULL,
	end_at         timestamptz NOT NULL,
	duration_ms    bigint NOT NULL,
	active_ms      bigint NOT NULL,
	matched_rules  text[] NOT NULL,
	pages          text[] COLLATE "C" NOT NULL,
	page_paths     text[] COLLATE "C" NOT NULL, -- the path of each page, as storage.MatchURL reads it
	entry_url      text NOT NULL,
	device         text NOT NULL,
	os             text NOT NULL,
	browser        text NOT NULL,
	device_key     text COLLATE "C" NOT NULL, -- device with case folded in Go, for the case-insensitive filter
	os_key         text COLLATE "C" NOT NULL,
	browser_key    text COLLATE "C" NOT NULL,
	viewport_w     bigint NOT NULL,
	viewport_h     bigint NOT NULL,
	errors         bigint NOT NULL,
	error_messages text[] NOT NULL,
	events         jsonb NOT NULL,  -- tag -> count
	event_tags     text[] NOT NULL, -- tags whose count is not 0
	clicks         bigint NOT NULL,
	rage_clicks    bigint NOT NULL,
	windows        bigint NOT NULL,
	window_ids     text[] NOT NULL,
	event_count    bigint NOT NULL,
	bytes          bigint NOT NULL,
	stored_bytes   bigint NOT NULL,
	attrs          jsonb NOT NULL,
	user_id        text COLLATE "C" NOT NULL, -- attrs.userId
	first_seen     timestamptz NOT NULL,
	last_seen      timestamptz NOT NULL,
	ended          boolean NOT NULL,
	opaque         bytea NOT NULL,
	PRIMARY KEY (site, id)
);

-- The listing order of one site, and of every site (Query.Site "").
CREATE INDEX sessions_order ON sessions (site, start_at DESC, id DESC);
CREATE INDEX sessions_order_all ON sessions (start_at DESC, id DESC, site DESC);
-- States other than kept are few; each has its own ordered index.
CREATE INDEX sessions_pending ON sessions (site, start_at DESC, id DESC) WHERE state = 'pending';
CREATE INDEX sessions_dropped ON sessions (site, start_at DESC, id DESC) WHERE state = 'dropped';
-- One ordered index per equality filter.
CREATE INDEX sessions_device ON sessions (site, device_key, start_at DESC, id DESC);
CREATE INDEX sessions_os ON sessions (site, os_key, start_at DESC, id DESC);
CREATE INDEX sessions_browser ON sessions (site, browser_key, start_at DESC, id DESC);
CREATE INDEX sessions_user ON sessions (site, user_id, start_at DESC, id DESC) WHERE user_id <> '';
CREATE INDEX sessions_errors ON sessions (site, start_at DESC, id DESC) WHERE errors > 0;
CREATE INDEX sessions_duration ON sessions (site, duration_ms);
-- Multi-valued filters.
CREATE INDEX sessions_rules ON sessions USING gin (matched_rules);
CREATE INDEX sessions_event_tags ON sessions USING gin (event_tags);
-- A URL glob without * is a path (or URL) equality: page_paths @> or
-- pages @>. Other globs are checked on the row along the listing order.
CREATE INDEX sessions_page_paths ON sessions USING gin (page_paths);
CREATE INDEX sessions_pages ON sessions USING gin (pages);
-- The lifecycle's sweep looks for open sessions by server clock.
CREATE INDEX sessions_open ON sessions (last_seen) WHERE NOT ended;

-- Chunks: the bytes, or the key of the object that holds them.
CREATE TABLE chunks (
	site     text COLLATE "C" NOT NULL,
	session  text COLLATE "C" NOT NULL,
	window_id text COLLATE "C" NOT NULL,
	seq      bigint NOT NULL,
	events   bigint NOT NULL,
	data     bytea,
	blob_key text,
	PRIMARY KEY (site, session, window_id, seq)
);
