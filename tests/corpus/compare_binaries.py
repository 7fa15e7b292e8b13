#!/usr/bin/env python3
"""Do two pathtrace binaries say exactly the same on every corpus set?

    python3 tests/corpus/compare_binaries.py OLD_PATHTRACE NEW_PATHTRACE [SET_DIR...]

For every set (default: every directory under tests/corpus/sets), runs `ingest --json --quiet
--inventory SET/inventory.toml ARGS` (ARGS from the set's expected.toml) with each binary, in
memory (`--memory 0`) and spilled (`--memory 1K`), and compares the exit codes, the JSON reports
(without "started" and "command") and the databases' `sqlite3 .dump` (without the runs row,
which holds the time and the command line). A change that should not change what pathtrace says
(a speed-up, a memory cut, a refactor) must print no difference. Prints one line per set, the
differences (an ingest that exits otherwise than the set expects, on either side, counts as
one), and exits 1 if there was any,
2 on bad arguments. Needs Python >= 3.11 and sqlite3; stdlib only.
"""
import os
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))


def run(pathtrace, set_dir, args, memory, tmp):
    db = os.path.join(tmp, "run.db")
    cmd = [pathtrace, "ingest", "--db", db, "--json", "--quiet", "--memory", memory,
           "--inventory", os.path.join(set_dir, "inventory.toml")] + args
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)
    report = "\n".join(line for line in proc.stdout.splitlines()
                       if '"started"' not in line and '"command"' not in line)
    dump = ""
    if os.path.exists(db):
        dump = subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True, check=True).stdout
        dump = "\n".join(line for line in dump.splitlines() if not line.startswith("INSERT INTO runs"))
    return proc.returncode, report, dump, proc.stderr.strip().splitlines()[:1]


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    old, new = (os.path.abspath(a) for a in argv[1:3])
    sets = [os.path.abspath(d) for d in argv[3:]] or sorted(
        os.path.join(HERE, "sets", d) for d in os.listdir(os.path.join(HERE, "sets")))
    differences = 0
    for set_dir in sets:
        name = os.path.basename(set_dir.rstrip("/"))
        try:
            with open(os.path.join(set_dir, "expected.toml"), "rb") as f:
                expected = tomllib.load(f)
            args = list(expected.get("args", []))
            # What the set expects pathtrace to exit with: a verdict (0, or 1 for a loss), or the
            # refusal it is about (`exit`).
            fine = (expected["exit"],) if "exit" in expected else (0, 1)
        except (OSError, tomllib.TOMLDecodeError) as e:
            print(f"compare_binaries: {set_dir}: not a corpus set ({e})", file=sys.stderr)
            return 2
        said = []
        for memory in ("0", "1K"):
            with tempfile.TemporaryDirectory(prefix="ptcmp.") as a, tempfile.TemporaryDirectory(prefix="ptcmp.") as b:
                x, y = run(old, set_dir, args, memory, a), run(new, set_dir, args, memory, b)
            for who, r in (("old", x), ("new", y)):
                if r[0] not in fine:
                    said.append(f"--memory {memory}: {who} failed with exit {r[0]}: {' '.join(r[3])}")
            for what, i in (("exit code", 0), ("JSON report", 1), ("database", 2)):
                if x[i] != y[i]:
                    said.append(f"--memory {memory}: {what} differs" +
                                (f" ({x[0]} vs {y[0]})" if i == 0 else ""))
        differences += len(said)
        print(f"{name}: " + ("same" if not said else "; ".join(said)), flush=True)
    print(f"{len(sets)} sets, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
