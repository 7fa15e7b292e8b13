-- pathtrace schema 4: what a verdict rests on (docs/verdicts.md). Points say when their capture
-- is known to have run (first and last frame), whether their capture is evidence at all
-- (health) and whether their host's clock could be compared; results say what each point saw
-- of the flow judged or not (and the aggregates it could not judge), and the assumptions and
-- address translations a verdict rests on;
-- hops say how much of their loss is only assumed, and the delay between their points; runs
-- keep how each host's clock was put on the reference clock. Older rows read as: nothing
-- assumed, every point usable, clocks as the warnings say.

ALTER TABLE points ADD COLUMN first_frame_ns  INTEGER NOT NULL DEFAULT 0;  -- 0: no frame
ALTER TABLE points ADD COLUMN last_frame_ns   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE points ADD COLUMN snaplen         INTEGER NOT NULL DEFAULT 0;  -- 0: unknown
ALTER TABLE points ADD COLUMN clock_offset_ns INTEGER NOT NULL DEFAULT 0;  -- its host's clock minus the reference's
ALTER TABLE points ADD COLUMN clock_unknown   INTEGER NOT NULL DEFAULT 0;  -- 1: could not be compared
ALTER TABLE points ADD COLUMN usable          INTEGER NOT NULL DEFAULT 1;  -- 0: its capture is not evidence
ALTER TABLE points ADD COLUMN health          TEXT    NOT NULL DEFAULT ''; -- not_ip, linktype, snaplen, identical, vlan_filter, nothing_seen
ALTER TABLE points ADD COLUMN health_detail   TEXT    NOT NULL DEFAULT ''; -- the likely cause, in words

ALTER TABLE flow_results ADD COLUMN seen_any     TEXT    NOT NULL DEFAULT '[]'; -- per ord: packets seen there, judged or not
ALTER TABLE flow_results ADD COLUMN assumed      INTEGER NOT NULL DEFAULT 0;    -- of lost: only under an assumption
ALTER TABLE flow_results ADD COLUMN assumptions  TEXT    NOT NULL DEFAULT '[]'; -- [{"kind","points":[…],"text"}]
ALTER TABLE flow_results ADD COLUMN translations TEXT    NOT NULL DEFAULT '[]'; -- [{"from","to","before","after","packets"}]
ALTER TABLE flow_results ADD COLUMN aggregated   INTEGER NOT NULL DEFAULT 0;    -- TSO/GSO aggregates at the entry end: not judged

ALTER TABLE hops ADD COLUMN assumed       INTEGER NOT NULL DEFAULT 0;  -- of lost: only under an assumption
ALTER TABLE hops ADD COLUMN delay_samples INTEGER NOT NULL DEFAULT 0;  -- packets seen at both points
ALTER TABLE hops ADD COLUMN delay_min_ns  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hops ADD COLUMN delay_mean_ns INTEGER NOT NULL DEFAULT 0;

ALTER TABLE runs ADD COLUMN clocks TEXT NOT NULL DEFAULT '[]';  -- [{"host","reference","known","offset_ns","error_ns","samples","method"}]

-- The traversals view gains `assumed` (Traversal::assumed: 1 window, 2 clock, 4 entry), the
-- 13th number of a traversal's entry when present (blocks written before schema 4 have none).
DROP VIEW traversals;
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
       e.value -> 11                     AS sightings,  -- [[ord, dt_ns, dwire, stack_id], ...]
       coalesce(e.value ->> 12, 0)       AS assumed
FROM traversal_blocks b
CROSS JOIN json_each(b.data) e;
