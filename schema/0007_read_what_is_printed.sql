-- pathtrace schema 7: what the read-only commands print, readable without reading the whole run.
--
-- A run's counts of results and of delivered results: a text report reads the lost and
-- inconclusive results and the first few others, and counts the rest (a busy run has millions)
-- from these. NULL in runs stored before schema 7: their result blocks are decoded to count.
ALTER TABLE runs ADD COLUMN results INTEGER;
ALTER TABLE runs ADD COLUMN delivered INTEGER;

-- The lost traversals once more, with their sightings, apart from the others: `timeline --lost`
-- and `export --lost` read these rows instead of every traversal of the run (on a busy port the
-- lost are a few in a million). `ids` is a JSON array of the entries' traversal ids; `data` the
-- entries as in traversal_blocks.data, with t0_ns itself where those hold t0_ns - t_min.
CREATE TABLE lost_blocks (
  key    INTEGER PRIMARY KEY,                  -- run_id << 32 | block
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  block  INTEGER NOT NULL,                     -- 0-based
  count  INTEGER NOT NULL,                     -- entries in data
  ids    TEXT    NOT NULL,
  data   TEXT    NOT NULL
);

-- 1: the run's lost traversals are all in lost_blocks (runs stored before schema 7: 0, found
-- by a scan of traversal_blocks).
ALTER TABLE runs ADD COLUMN lost_indexed INTEGER NOT NULL DEFAULT 0;
