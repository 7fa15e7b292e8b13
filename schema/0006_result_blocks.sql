-- pathtrace schema 6: plain flow results packed. A result that says nothing beyond its counts
-- (delivered or not judged; nothing lost, no holes, findings, assumptions or translations; never
-- the run's rank 0) is stored as one entry of a result_blocks row instead of a flow_results row
-- and a hops row per hop: on a busy port that is nearly every flow. The views verdicts and
-- hop_loss answer for both, with the same columns as before; runs written before schema 6 have
-- no result_blocks rows.

CREATE TABLE result_blocks (
  key    INTEGER PRIMARY KEY,                  -- run_id << 32 | block
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  block  INTEGER NOT NULL,                     -- 0-based
  count  INTEGER NOT NULL,                     -- entries in data
  -- JSON array, one entry per result, in rank order:
  -- [rank, flow, dir (0 forward, 1 reverse), traversals, judged, delivered, out_of_window,
  --  no_entry, duplicates, aggregated, verdict (0 delivered, 4 not_judged), "summary",
  --  [seen_at per ord], [seen_any per ord],
  --  [[from_ord, to_ord, packets_in, delay_samples, delay_min_ns, delay_mean_ns] per hop],
  --  [inner flow ids]]
  -- lost, assumed: 0; holes_at: 0 at every ord; hop: -1; findings, assumptions, translations:
  -- none; per hop packets_out = packets_in, nothing lost, assumed or inconclusive.
  data   TEXT    NOT NULL
);

-- The verdict of every top-level flow, most interesting first within each run.
DROP VIEW verdicts;
CREATE VIEW verdicts AS
SELECT run, flow, flow_label, dir, verdict, summary, judged, delivered, lost FROM (
  SELECT r.run_id AS run, r.rank AS rank, r.flow AS flow, f.label AS flow_label, r.dir AS dir,
         r.verdict AS verdict, r.summary AS summary, r.judged AS judged, r.delivered AS delivered,
         r.lost AS lost
  FROM flow_results r
  LEFT JOIN flows f ON f.run_id = r.run_id AND f.id = r.flow
  UNION ALL
  SELECT b.run_id, e.value ->> 0, e.value ->> 1, f.label,
         CASE e.value ->> 2 WHEN 0 THEN 'forward' ELSE 'reverse' END,
         CASE e.value ->> 10 WHEN 0 THEN 'delivered' ELSE 'not_judged' END,
         e.value ->> 11, e.value ->> 4, e.value ->> 5, 0
  FROM result_blocks b
  CROSS JOIN json_each(b.data) e
  LEFT JOIN flows f ON f.run_id = b.run_id AND f.id = e.value ->> 1)
ORDER BY run, rank;

-- Per flow, direction and hop: packets in, out, lost.
DROP VIEW hop_loss;
CREATE VIEW hop_loss AS
SELECT run_id, flow, flow_label, dir, hop, from_label, to_label, packets_in, packets_out, lost,
       loss_pct, inconclusive, why FROM (
  SELECT h.run_id AS run_id, h.rank AS rank, h.flow AS flow, f.label AS flow_label, h.dir AS dir,
         h.idx AS hop, h.from_label AS from_label, h.to_label AS to_label,
         h.packets_in AS packets_in, h.packets_out AS packets_out, h.lost AS lost,
         round(h.loss_pct, 2) AS loss_pct, h.inconclusive AS inconclusive, h.why AS why
  FROM hops h
  LEFT JOIN flows f ON f.run_id = h.run_id AND f.id = h.flow
  UNION ALL
  SELECT b.run_id, e.value ->> 0, e.value ->> 1, f.label,
         CASE e.value ->> 2 WHEN 0 THEN 'forward' ELSE 'reverse' END,
         x.key, pf.label, pt.label, x.value ->> 2, x.value ->> 2, 0, 0.0, 0, ''
  FROM result_blocks b
  CROSS JOIN json_each(b.data) e
  CROSS JOIN json_each(e.value -> 14) x
  LEFT JOIN points pf ON pf.run_id = b.run_id AND pf.ord = x.value ->> 0
  LEFT JOIN points pt ON pt.run_id = b.run_id AND pt.ord = x.value ->> 1
  LEFT JOIN flows f ON f.run_id = b.run_id AND f.id = e.value ->> 1)
ORDER BY run_id, rank, hop;
