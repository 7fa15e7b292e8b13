-- pathtrace schema 1: runs, points, flows, stacks, traversals, results, hops, and the views
-- a person queries from the sqlite3 shell. See docs/schema.md.
--
-- Every table carries run_id (one file holds many runs). Enumerations are stored as small
-- integers in the bulk tables (traversals) and decoded to words by the views.
--   dir:  0 forward (first point of the path towards the last), 1 reverse
--   fate: 0 delivered, 1 lost, 2 out_of_window, 3 no_entry

CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  started         TEXT    NOT NULL,            -- ISO-8601 UTC
  command         TEXT    NOT NULL,
  filter          TEXT    NOT NULL DEFAULT '',
  window_start_ns INTEGER NOT NULL,            -- common capture window used for judging
  window_end_ns   INTEGER NOT NULL,
  sightings       INTEGER NOT NULL,
  warnings        TEXT    NOT NULL DEFAULT ''  -- one warning per line
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

-- One row per traversal (one packet's trip along the path), its sightings packed as JSON
-- [[ord, dt_ns, wire_len, stack_id], ...] with dt_ns relative to t0_ns. The observations
-- view unpacks them one row per sighting.
-- This is the bulk table (a million rows per million packets), so it is a rowid table
-- whose key is run_id << 32 | id: inserts append to the B-tree with no key comparisons and
-- no second index, and the rows of one run are one contiguous key range (the views look
-- them up with key BETWEEN run_id << 32 AND (run_id << 32) + 0xffffffff).
CREATE TABLE traversals (
  key           INTEGER PRIMARY KEY,           -- run_id << 32 | id
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  id            INTEGER NOT NULL,              -- 0-based within the run, in t0 order
  flow          INTEGER NOT NULL,              -- top-level flow
  inner_flow    INTEGER NOT NULL,
  digest        INTEGER NOT NULL,              -- 64-bit digest, stored as a signed integer
  t0_ns         INTEGER NOT NULL,              -- earliest sighting
  seen          INTEGER NOT NULL,              -- bit ord set when point ord saw it
  fate          INTEGER NOT NULL,
  dir           INTEGER NOT NULL,
  entry_ord     INTEGER,                       -- NULL: none
  last_seen_ord INTEGER,                       -- NULL: none
  wire_len      INTEGER NOT NULL,              -- wire length at last_seen_ord
  tcp_flags     INTEGER NOT NULL,
  sightings     TEXT    NOT NULL
);

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

-- ---------------------------------------------------------------------------- views

-- One row per sighting: where and when each packet was seen. The CROSS JOINs fix the loop
-- order (run, its traversals by key range, their sightings, then point and stack lookups).
CREATE VIEW observations AS
SELECT r.id                                     AS run_id,
       t.id                                     AS traversal,
       p.label                                  AS point,
       p.ord                                    AS ord,
       t.t0_ns + json_extract(j.value, '$[1]')  AS ts_ns,
       t.digest                                 AS digest,
       printf('%016x', t.digest)                AS digest_hex,
       t.flow                                   AS flow,
       t.inner_flow                             AS inner_flow,
       json_extract(j.value, '$[2]')            AS wire_len,
       s.stack                                  AS stack
FROM runs r
CROSS JOIN traversals t ON t.key BETWEEN (r.id << 32) AND (r.id << 32) + 4294967295
CROSS JOIN json_each(t.sightings) j
CROSS JOIN points p ON p.run_id = r.id AND p.ord = json_extract(j.value, '$[0]')
CROSS JOIN stacks s ON s.run_id = r.id AND s.id = json_extract(j.value, '$[3]');

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
SELECT r.id AS run_id, t.id AS traversal, printf('%016x', t.digest) AS digest_hex, t.digest,
       t.flow, f.label AS flow_label,
       CASE t.dir WHEN 0 THEN 'forward' ELSE 'reverse' END AS dir,
       t.t0_ns, p.label AS last_seen, t.last_seen_ord, t.wire_len, t.tcp_flags
FROM runs r
CROSS JOIN traversals t ON t.key BETWEEN (r.id << 32) AND (r.id << 32) + 4294967295
LEFT JOIN flows f ON f.run_id = r.id AND f.id = t.flow
LEFT JOIN points p ON p.run_id = r.id AND p.ord = t.last_seen_ord
WHERE t.fate = 1
ORDER BY r.id, t.id;
