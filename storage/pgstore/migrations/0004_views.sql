-- Who read each session (storage.ViewLog), in the order of AddView; the
-- newest storage.MinViewsKept of a session are kept.
CREATE TABLE views (
	site      text COLLATE "C" NOT NULL,
	session   text COLLATE "C" NOT NULL,
	n         bigint GENERATED ALWAYS AS IDENTITY,
	principal text NOT NULL,
	at        timestamptz NOT NULL,
	PRIMARY KEY (site, session, n)
);
