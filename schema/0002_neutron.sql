-- pathtrace schema 2: what `pathtrace discover` found and what `run --explain` attributed.
-- Written from Run::neutron by Store::save / finish_run in the run's own transaction (a run and
-- its explanation are stored both or neither; correlator/store/neutron_tables.cpp); see
-- docs/schema.md, "Neutron evidence", and docs/neutron.md.

-- The discovered path of a Neutron port, one row per capture point (VM side first).
CREATE TABLE neutron_points (
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  ord     INTEGER NOT NULL,                    -- position along the path, 0 = first
  label   TEXT    NOT NULL,
  role    TEXT    NOT NULL,                    -- vm, tap, qbr, qvb, qvo, br-ethx, brq, nic
  host    TEXT    NOT NULL DEFAULT 'local',
  netns   TEXT    NOT NULL DEFAULT '',
  iface   TEXT    NOT NULL,
  what    TEXT    NOT NULL DEFAULT '',         -- what the device is
  PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;

-- One row per discovery: the port, the layout, and the notes (one per line: hops that cannot
-- be captured directly and what to do instead).
CREATE TABLE neutron_discovery (
  run_id   INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  port     TEXT    NOT NULL,                   -- full UUID, or the 11-character device suffix
  layout   TEXT    NOT NULL,                   -- hybrid, ovs-native, linuxbridge
  netns    TEXT    NOT NULL DEFAULT '',
  bridges  TEXT    NOT NULL DEFAULT '',        -- OVS bridges on the path, space-separated
  notes    TEXT    NOT NULL DEFAULT ''
);

-- Filtering rules whose packet counter grew between the snapshots around the capture.
CREATE TABLE counter_deltas (
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  id          INTEGER NOT NULL,                -- 1-based within the run
  layer       TEXT    NOT NULL,                -- iptables, ip6tables, nft, openflow
  tbl         TEXT    NOT NULL,                -- filter (nft: "ip filter"; openflow: the bridge)
  chain       TEXT    NOT NULL,                -- openflow: "table=N"
  rule_index  INTEGER NOT NULL,                -- 1-based position; 0 = the chain's policy
  rule        TEXT    NOT NULL,                -- as iptables-save prints it, without counters
  target      TEXT    NOT NULL DEFAULT '',
  packets     INTEGER NOT NULL,                -- growth of the packet counter
  bytes       INTEGER NOT NULL,
  PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

-- The dropping rules blamed for the loss, best match first.
CREATE TABLE attributions (
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  rank            INTEGER NOT NULL,            -- 1 = best match
  layer           TEXT    NOT NULL,
  tbl             TEXT    NOT NULL,
  chain_path      TEXT    NOT NULL,            -- "FORWARD → … → neutron-openvswi-sg-fallback: DROP"
  rule            TEXT    NOT NULL,
  verdict         TEXT    NOT NULL,            -- DROP, REJECT, policy DROP, drop
  packets         INTEGER NOT NULL,            -- attributed to this path (per-port chain's delta)
  rule_packets    INTEGER NOT NULL,            -- the dropping rule's own delta (all ports)
  port_chain      TEXT    NOT NULL DEFAULT '',
  direction       TEXT    NOT NULL DEFAULT '', -- ingress, egress
  suggestion      TEXT    NOT NULL DEFAULT '', -- the security-group rule that would let it in
  suggested_rule  TEXT    NOT NULL DEFAULT '', -- how Neutron renders it in iptables
  PRIMARY KEY (run_id, rank)
) WITHOUT ROWID;
