-- pathtrace schema 5: runs can be named (`pathtrace runs --name NAME --run N`; a name is never
-- a number, so `--run NAME` and `--run N` cannot be confused) and can have failed: a live run
-- whose database writes failed (locked past the busy timeout, disk full) stops capturing and
-- is marked 'failed' with the reason; its staged rows stay, as an interrupted run's do.
--
-- SQLite cannot change a CHECK constraint in place: the runs table is rebuilt (SQLite's
-- documented procedure: new table, copy, drop, rename). The migration runs with foreign keys
-- off (Store applies migrations before it turns them on), so dropping the old table deletes
-- nothing of the other tables; their REFERENCES runs(id) name the new table once it is renamed.

CREATE TABLE runs_new (
  id              INTEGER PRIMARY KEY,
  started         TEXT    NOT NULL,            -- ISO-8601 UTC
  command         TEXT    NOT NULL,
  filter          TEXT    NOT NULL DEFAULT '',
  window_start_ns INTEGER NOT NULL,            -- common capture window used for judging
  window_end_ns   INTEGER NOT NULL,
  sightings       INTEGER NOT NULL,            -- while capturing: sightings committed so far
  warnings        TEXT    NOT NULL DEFAULT '', -- one warning per line
  -- 'capturing': a live run still being written (or interrupted: its writer is gone; readers
  -- tell by `writer`); 'complete': analysed and stored; 'failed': its writer stopped it
  -- because the database could not be written (`failure` says why).
  status          TEXT    NOT NULL DEFAULT 'complete' CHECK (status IN ('capturing', 'complete', 'failed')),
  -- while capturing: "<boot_id> <pid> <start time> <host>" of the writing process (<host>
  -- since schema 5)
  writer          TEXT,
  clocks          TEXT    NOT NULL DEFAULT '[]',
  name            TEXT    UNIQUE CHECK (name IS NULL OR (name <> '' AND name NOT GLOB '[0-9]*')),
  failure         TEXT                         -- status 'failed': the database error that stopped it
);

INSERT INTO runs_new (id, started, command, filter, window_start_ns, window_end_ns, sightings,
                      warnings, status, writer, clocks)
SELECT id, started, command, filter, window_start_ns, window_end_ns, sightings, warnings, status,
       writer, clocks
FROM runs;

DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
