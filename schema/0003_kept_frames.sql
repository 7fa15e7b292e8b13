-- pathtrace schema 3: the first bytes of captured frames, kept with --keep-bytes N for
-- `pathtrace export` (docs/schema.md, "Kept frames"). Written by Store::save / finish_run
-- (offline ingest) and Store::append_kept (live runs, while capturing); finish_run leaves
-- them in place.

-- One row per kept frame: which point saw it when, the packet's digest (how a frame is tied
-- to its sighting: same run, point, ts_ns and digest), and its first bytes.
CREATE TABLE kept_frames (
  id       INTEGER PRIMARY KEY,                -- rowid, in insertion order
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  point    INTEGER NOT NULL,                   -- ord (points.ord)
  ts_ns    INTEGER NOT NULL,                   -- as the sighting's ts_ns
  digest   INTEGER NOT NULL,                   -- signed 64-bit, as traversal_blocks
  wire_len INTEGER NOT NULL,                   -- original frame length
  linktype INTEGER NOT NULL,                   -- LINKTYPE_* of the capture
  data     BLOB    NOT NULL                    -- the first min(captured, N) bytes
);
-- The frames of a run in time order (export of a whole run, or of most of it):
--   WHERE run_id = ?1 ORDER BY ts_ns, point
CREATE INDEX kept_frames_time ON kept_frames (run_id, ts_ns, point);
-- The frames of a few packets (export --lost / --flow of a small part of a run):
--   WHERE run_id = ?1 AND digest = ?2
CREATE INDEX kept_frames_digest ON kept_frames (run_id, digest);
