-- Assets (storage.AssetStore): per site, under their hash; the bytes, or
-- the key of the object that holds them.
CREATE TABLE assets (
	site     text COLLATE "C" NOT NULL,
	hash     text COLLATE "C" NOT NULL,
	data     bytea,
	blob_key text,
	PRIMARY KEY (site, hash)
);

-- The assets each session references. Delete of a session drops its rows
-- and frees the assets no row names any more, found by asset_refs_hash.
CREATE TABLE asset_refs (
	site    text COLLATE "C" NOT NULL,
	session text COLLATE "C" NOT NULL,
	hash    text COLLATE "C" NOT NULL,
	PRIMARY KEY (site, session, hash)
);
CREATE INDEX asset_refs_hash ON asset_refs (site, hash);
