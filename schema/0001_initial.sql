-- pathtrace schema 1: runs, points, flows, stacks, traversals, results, hops, and the views
-- a person queries from the sqlite3 shell. See docs/schema.md.
--
-- Every table carries run_id (one file holds many runs). Enumerations are stored as small
-- integers in the bulk table (traversal_blocks) and decoded to words by the views.
--   dir:  0 forward (first point of the path towards the last), 1 reverse
--   fate: 0 delivered, 1 lost, 2 out_of_window, 3 no_entry

CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  started         TEXT    NOT NULL,            -- ISO-8601 UTC
  command         TEXT    NOT NULL,
  filter          TEXT    NOT NULL DEFAULT '',
  window_start_ns INTEGER NOT NULL,            -- common capture window used for judging
  window_end_ns   INTEGER NOT NULL,
  sightings       INTEGER NOT NULL,            -- while capturing: sightings committed so far
  warnings        TEXT    NOT NULL DEFAULT '', -- one warning per line
  -- 'capturing': a live run still being written (or interrupted: its writer is gone; readers
  -- tell by `writer`); 'complete': analysed and stored.
  status          TEXT    NOT NULL DEFAULT 'complete' CHECK (status IN ('capturing', 'complete')),
  writer          TEXT                         -- while capturing: "<boot_id> <pid> <start time>" of the writing process
);

CREATE TABLE points (
  run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  ord              INTEGER NOT NULL,            -- position along the path, 0 = first
  label            TEXT    NOT NULL,
  role             TEXT    NOT NULL DEFAULT '',
  host             TEXT    NOT NULL DEFAULT 'local',
  netns            TEXT    NOT NULL DEFAULT '',
  iface            TEXT    NOT NULL DEFAULT '',
  source           TEXT    NOT NULL DEFAULT '',
  packets          INTEGER NOT NULL DEFAULT 0,
  bytes            INTEGER NOT NULL DEFAULT 0,
  digested         INTEGER NOT NULL DEFAULT 0,
  filtered         INTEGER NOT NULL DEFAULT 0,
  truncated        INTEGER NOT NULL DEFAULT 0,  -- parser discards, by reason
  malformed        INTEGER NOT NULL DEFAULT 0,
  not_ip           INTEGER NOT NULL DEFAULT 0,
  too_deep         INTEGER NOT NULL DEFAULT 0,
  unsupported_link INTEGER NOT NULL DEFAULT 0,
  pcap_drop        INTEGER NOT NULL DEFAULT 0,
  if_drop          INTEGER NOT NULL DEFAULT 0,
  records_lost     INTEGER NOT NULL DEFAULT 0,
  over_mtu         INTEGER NOT NULL DEFAULT 0,
  start_ns         INTEGER NOT NULL DEFAULT 0,
  end_ns           INTEGER NOT NULL DEFAULT 0,
  window_known     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;

CREATE TABLE flows (
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  id      INTEGER NOT NULL,                    -- 1-based within the run
  parent  INTEGER NOT NULL DEFAULT 0,          -- 0: top-level flow
  version INTEGER NOT NULL,                    -- 4 or 6
  proto   INTEGER NOT NULL,                    -- IP protocol carried (4 IPIP, 6 TCP, ...)
  src     TEXT    NOT NULL,
  dst     TEXT    NOT NULL,
  sport   INTEGER NOT NULL DEFAULT 0,
  dport   INTEGER NOT NULL DEFAULT 0,
  label   TEXT    NOT NULL,
  PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

-- Distinct layer stacks (Run::chains); id is the chain index sightings refer to.
CREATE TABLE stacks (
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  id       INTEGER NOT NULL,
  stack    TEXT    NOT NULL,                   -- "eth/vlan/ipv4[ipip]/ipv4/tcp"
  flow_ids TEXT    NOT NULL DEFAULT '[]',      -- JSON: flow id of each IP layer, outermost first (null: none)
  PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

-- The bulk table: traversals (one packet's trip along the path each) in blocks of consecutive
-- Run::traversals, which are ordered by digest, then t0. One row per block, not per traversal:
-- SQLite's per-row work (seek, bind, step) was most of the cost of storing a run
-- (docs/schema.md, "Performance"). A block never holds digests of both signs, so
-- [digest_min, digest_max] is a proper range of signed integers. `data` is a JSON array, one
-- entry per traversal, compact (the traversals view spells it out):
--   [flow, inner_flow, digest, t0_ns - t_min, seen, fate, dir, entry_ord, last_seen_ord,
--    wire_len, tcp_flags, [[ord, dt_ns, dwire, stack_id], ...]]
-- The traversal's id is first_id + its index in the array; entry_ord/last_seen_ord null:
-- none; per sighting, dt_ns is from t0_ns, dwire the sighting's wire length minus the
-- traversal's wire_len (0, or ±4 for a VLAN tag), stack_id indexes stacks.
-- The traversals view unpacks it one row per traversal, observations one row per sighting.
-- The key run_id << 32 | block makes inserts append to the B-tree, and the blocks of one
-- run one contiguous key range.
CREATE TABLE traversal_blocks (
  key        INTEGER PRIMARY KEY,              -- run_id << 32 | block
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  block      INTEGER NOT NULL,                 -- 0-based within the run
  first_id   INTEGER NOT NULL,                 -- id of its first traversal (ids are consecutive)
  count      INTEGER NOT NULL,                 -- traversals in the block
  digest_min INTEGER NOT NULL,                 -- smallest and largest digest (signed 64-bit)
  digest_max INTEGER NOT NULL,
  t_min      INTEGER NOT NULL,                 -- earliest and latest t0_ns
  t_max      INTEGER NOT NULL,
  data       TEXT    NOT NULL
);
-- One packet's traversals by digest without a scan (one entry per block, so tiny):
--   WHERE run_id = ?1 AND digest_max >= ?2 AND digest_min <= ?2
-- digest_min is in the index too, so that the range test never reads the table.
CREATE INDEX traversal_blocks_digest ON traversal_blocks (run_id, digest_max, digest_min);

CREATE TABLE flow_results (
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  rank          INTEGER NOT NULL,              -- 0 = most interesting (the report's order)
  flow          INTEGER NOT NULL,
  dir           TEXT    NOT NULL,              -- 'forward' | 'reverse'
  traversals    INTEGER NOT NULL,
  judged        INTEGER NOT NULL,
  delivered     INTEGER NOT NULL,
  lost          INTEGER NOT NULL,
  out_of_window INTEGER NOT NULL,
  no_entry      INTEGER NOT NULL,
  duplicates    INTEGER NOT NULL,
  seen_at       TEXT    NOT NULL,              -- JSON array, per ord
  holes_at      TEXT    NOT NULL,              -- JSON array, per ord
  verdict       TEXT    NOT NULL,              -- delivered | disappears | partial_loss | inconclusive | not_judged
  hop           INTEGER NOT NULL,              -- headline hop index, -1 none
  summary       TEXT    NOT NULL,
  findings      TEXT    NOT NULL DEFAULT '',   -- one finding per line
  inner_flows   TEXT    NOT NULL DEFAULT '[]', -- JSON array of flow ids
  PRIMARY KEY (run_id, rank)
) WITHOUT ROWID;

CREATE TABLE hops (
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  rank         INTEGER NOT NULL,               -- flow_results.rank of the result it belongs to
  flow         INTEGER NOT NULL,
  dir          TEXT    NOT NULL,
  idx          INTEGER NOT NULL,               -- in travel direction
  from_ord     INTEGER NOT NULL,
  to_ord       INTEGER NOT NULL,
  from_label   TEXT    NOT NULL,
  to_label     TEXT    NOT NULL,
  packets_in   INTEGER NOT NULL,               -- judged packets that reached from_ord
  packets_out  INTEGER NOT NULL,               -- of those, packets that reached to_ord
  lost         INTEGER NOT NULL,
  loss_pct     REAL    NOT NULL,
  inconclusive INTEGER NOT NULL,
  why          TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, rank, idx)
) WITHOUT ROWID;

-- Live runs (`pathtrace run`) stage what arrives, one transaction per batch, until the run is
-- analysed (then these rows are deleted) or the writer dies (then they are what it committed).
-- Not for people: packed for speed.
CREATE TABLE staged_chains (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  id     INTEGER NOT NULL,                     -- chain index (Sighting::chain)
  stack  TEXT    NOT NULL,
  ip     BLOB    NOT NULL,                     -- per IP layer, outermost first, 38 bytes: version,
                                               -- proto, src[16], dst[16], sport, dport (little-endian)
  PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE staged_sightings (
  key    INTEGER PRIMARY KEY,                  -- run_id << 32 | batch
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  batch  INTEGER NOT NULL,                     -- 0-based, in arrival order
  count  INTEGER NOT NULL,
  data   BLOB    NOT NULL                      -- count x 24 bytes, little-endian: digest u64, ts_ns i64,
                                               -- chain u32, wire_len u16, point u8, tcp_flags u8
);

-- ---------------------------------------------------------------------------- views

-- One row per traversal, unpacked from its block: the columns of the traversals table of
-- earlier builds. Filter on run_id; to find one digest fast, see docs/schema.md.
CREATE VIEW traversals AS
SELECT b.run_id                          AS run_id,
       b.first_id + e.key                AS id,
       e.value ->> 0                     AS flow,
       e.value ->> 1                     AS inner_flow,
       e.value ->> 2                     AS digest,
       printf('%016x', e.value ->> 2)    AS digest_hex,
       b.t_min + (e.value ->> 3)         AS t0_ns,
       e.value ->> 4                     AS seen,
       e.value ->> 5                     AS fate,
       e.value ->> 6                     AS dir,
       e.value ->> 7                     AS entry_ord,
       e.value ->> 8                     AS last_seen_ord,
       e.value ->> 9                     AS wire_len,
       e.value ->> 10                    AS tcp_flags,
       e.value -> 11                     AS sightings   -- [[ord, dt_ns, dwire, stack_id], ...]
FROM traversal_blocks b
CROSS JOIN json_each(b.data) e;

-- One row per sighting: where and when each packet was seen. The CROSS JOINs fix the loop
-- order (traversals, their sightings, then point and stack lookups).
CREATE VIEW observations AS
SELECT t.run_id                                 AS run_id,
       t.id                                     AS traversal,
       p.label                                  AS point,
       p.ord                                    AS ord,
       t.t0_ns + (j.value ->> 1)                AS ts_ns,
       t.digest                                 AS digest,
       t.digest_hex                             AS digest_hex,
       t.flow                                   AS flow,
       t.inner_flow                             AS inner_flow,
       t.wire_len + (j.value ->> 2)             AS wire_len,
       s.stack                                  AS stack
FROM traversals t
CROSS JOIN json_each(t.sightings) j
CROSS JOIN points p ON p.run_id = t.run_id AND p.ord = (j.value ->> 0)
CROSS JOIN stacks s ON s.run_id = t.run_id AND s.id = (j.value ->> 3);

-- Observations in time order with the point and flow spelled out.
CREATE VIEW timeline AS
SELECT o.run_id    AS run_id,
       o.ts_ns     AS ts_ns,
       strftime('%Y-%m-%dT%H:%M:%S', o.ts_ns / 1000000000, 'unixepoch')
         || printf('.%09dZ', o.ts_ns % 1000000000) AS ts,
       o.point     AS point,
       p.role      AS role,
       p.iface     AS iface,
       p.host      AS host,
       o.flow      AS flow,
       f.label     AS flow_label,
       o.stack     AS stack,
       o.wire_len  AS wire_len,
       o.digest_hex AS digest_hex,
       o.traversal AS traversal
FROM observations o
JOIN points p ON p.run_id = o.run_id AND p.ord = o.ord
LEFT JOIN flows f ON f.run_id = o.run_id AND f.id = o.flow
ORDER BY o.run_id, o.ts_ns, o.ord;

-- Per flow, direction and hop: packets in, out, lost.
CREATE VIEW hop_loss AS
SELECT h.run_id, h.flow, f.label AS flow_label, h.dir, h.idx AS hop,
       h.from_label, h.to_label, h.packets_in, h.packets_out, h.lost,
       round(h.loss_pct, 2) AS loss_pct, h.inconclusive, h.why
FROM hops h
LEFT JOIN flows f ON f.run_id = h.run_id AND f.id = h.flow
ORDER BY h.run_id, h.rank, h.idx;

-- The verdict of every top-level flow, most interesting first within each run.
CREATE VIEW verdicts AS
SELECT r.run_id AS run, r.flow, f.label AS flow_label, r.dir, r.verdict, r.summary,
       r.judged, r.delivered, r.lost
FROM flow_results r
LEFT JOIN flows f ON f.run_id = r.run_id AND f.id = r.flow
ORDER BY r.run_id, r.rank;

-- Packets that entered the path and never reached its far end.
CREATE VIEW lost_packets AS
SELECT t.run_id AS run_id, t.id AS traversal, t.digest_hex, t.digest,
       t.flow, f.label AS flow_label,
       CASE t.dir WHEN 0 THEN 'forward' ELSE 'reverse' END AS dir,
       t.t0_ns, p.label AS last_seen, t.last_seen_ord, t.wire_len, t.tcp_flags
FROM traversals t
LEFT JOIN flows f ON f.run_id = t.run_id AND f.id = t.flow
LEFT JOIN points p ON p.run_id = t.run_id AND p.ord = t.last_seen_ord
WHERE t.fate = 1
ORDER BY t.run_id, t.id;
