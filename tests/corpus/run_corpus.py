#!/usr/bin/env python3
"""Run pathtrace on one corpus set and check its expected verdict.

  run_corpus.py SET_DIR PATHTRACE [--verbose]

Runs `PATHTRACE ingest --db TMP --json --quiet --inventory SET_DIR/inventory.toml ARGS` (ARGS from
expected.toml), parses the JSON report (docs/report-json.md) and checks every expectation of
SET_DIR/expected.toml. Then ingests the set again with `--memory 1K`, so that its sightings go to
temporary files and are analysed one digest range at a time (correlator/spill), and checks that
the report and the stored run are the same as in memory. Prints expected vs got for each mismatch
and the report's summary lines; exits 0 on a pass, 1 on a mismatch, 2 on a broken set or bad usage.

expected.toml (see tests/corpus/README.md for the full format):
  why, args, exit, refuse                      case level
  [[flow]]   label (prefix, or list of prefixes: any), direction, verdict (string or list),
             hop, lost, delivered, judged, assumes, must_not_blame, must_say, must_not_say
  [[point]]  label (or list: any of them), usable, problem
  [[translation]] between, before, after
  [[clock]]  host, offset_ms, tolerance_ms, known
A field the report does not have yet counts as "not stated": `assumes = []` passes when
`assumptions` is absent, `assumes = ["window"]` fails; a point without `health` is usable with
no problem; a report without `clocks` or `translations` states none.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    print("run_corpus: needs Python 3.11 or newer (tomllib)", file=sys.stderr)
    sys.exit(2)

CONFIDENT = ("disappears", "partial_loss")
FLOW_KEYS = {"label", "direction", "verdict", "hop", "lost", "delivered", "judged", "assumes",
             "must_not_blame", "must_say", "must_not_say"}
POINT_KEYS = {"label", "usable", "problem"}
TRANSLATION_KEYS = {"between", "before", "after"}
CLOCK_KEYS = {"host", "offset_ms", "tolerance_ms", "known"}
CASE_KEYS = {"why", "args", "exit", "refuse", "flow", "point", "translation", "clock"}


def as_list(v):
    return v if isinstance(v, list) else [v]


def hop_of(result):
    h = result.get("headline_hop")
    return [h.get("from"), h.get("to")] if isinstance(h, dict) else None


def hop_txt(h):
    return "none" if h is None else f"{h[0]}→{h[1]}"


class Check:
    def __init__(self):
        self.failures = []   # (what, expected, got)
        self.confident_wrong = []

    def fail(self, what, expected, got):
        self.failures.append((what, expected, got))


def check_flow(chk, i, exp, results):
    labels = as_list(exp.get("label", ""))
    direction = exp.get("direction")
    name = f"flow[{i}] {' | '.join(repr(x) for x in labels)}" + (f" {direction}" if direction else "")
    matched = [r for r in results
               if any(r.get("flow_label", "").startswith(l) for l in labels)
               and (direction is None or r.get("direction") == direction)]
    if not matched:
        got = "; ".join(f"{r.get('flow_label')} {r.get('direction')}" for r in results) or "no results"
        chk.fail(f"{name}: result", "present", f"absent (results: {got})")
        return
    want_verdicts = as_list(exp["verdict"]) if "verdict" in exp else None
    for r in matched:
        tag = f"{name} = {r.get('flow_label')} {r.get('direction')}"
        got_v, got_hop = r.get("verdict"), hop_of(r)
        if want_verdicts is not None and got_v not in want_verdicts:
            chk.fail(f"{tag}: verdict", " or ".join(want_verdicts), f"{got_v} ({r.get('summary', '')})")
        if "hop" in exp:
            want = list(exp["hop"])
            if got_hop is not None and got_hop != want:
                chk.fail(f"{tag}: headline hop", hop_txt(want), hop_txt(got_hop))
            elif got_hop is None and got_v in CONFIDENT:
                chk.fail(f"{tag}: headline hop", hop_txt(want), "none")
        for bad in exp.get("must_not_blame", []):
            if got_hop == list(bad):
                chk.fail(f"{tag}: must not blame", f"not {hop_txt(list(bad))}", f"{got_v} at {hop_txt(got_hop)}")
        # A confident verdict that names a hop where nothing (or something else) was lost.
        if got_v in CONFIDENT and got_hop is not None:
            wrong_hop = "hop" in exp and got_hop != list(exp["hop"])
            banned = any(got_hop == list(b) for b in exp.get("must_not_blame", []))
            not_lossy = want_verdicts is not None and not any(v in CONFIDENT for v in want_verdicts)
            if wrong_hop or banned or not_lossy:
                chk.confident_wrong.append(f"{r.get('flow_label')} {r.get('direction')}: {r.get('summary', '')}")
        # "delivered" for a flow that lost packets is just as confident, and just as wrong.
        if got_v == "delivered" and want_verdicts is not None and all(v in CONFIDENT for v in want_verdicts):
            chk.confident_wrong.append(f"{r.get('flow_label')} {r.get('direction')}: {r.get('summary', '')}")
        for key in ("lost", "delivered", "judged"):
            if key in exp and r.get(key) != exp[key]:
                chk.fail(f"{tag}: {key}", exp[key], r.get(key))
        if "assumes" in exp:
            kinds = sorted({a.get("kind", "") for a in r.get("assumptions", []) or []})
            want = sorted(set(exp["assumes"]))
            if not want and kinds:
                chk.fail(f"{tag}: assumptions", "none", ", ".join(kinds))
            missing = [k for k in want if k not in kinds]
            if missing:
                chk.fail(f"{tag}: assumptions", ", ".join(want),
                         (", ".join(kinds) or "none stated") + f" (missing: {', '.join(missing)})")
        text = "\n".join([r.get("summary", "")] + list(r.get("findings", []) or []))
        for rx in exp.get("must_say", []):
            if not re.search(rx, text):
                chk.fail(f"{tag}: must say", f"/{rx}/ in summary or findings", text.replace("\n", " · ") or "nothing")
        for rx in exp.get("must_not_say", []):
            m = re.search(rx, text)
            if m:
                line = next(l for l in text.split("\n") if re.search(rx, l))
                chk.fail(f"{tag}: must not say", f"no /{rx}/", line)


def check_point(chk, i, exp, points):
    labels = as_list(exp["label"])
    pts = [p for p in points if p.get("label") in labels]
    name = f"point {' or '.join(labels)}"
    if not pts:
        chk.fail(f"{name}", "present in the report", "absent")
        return
    def health(p):
        h = p.get("health")
        return h if isinstance(h, dict) else {"usable": True, "problem": "", "detail": "(no health stated)"}
    ok = [p for p in pts
          if ("usable" not in exp or health(p).get("usable") == exp["usable"])
          and ("problem" not in exp or health(p).get("problem") == exp["problem"])]
    if not ok:
        want = ", ".join(f"{k}={exp[k]!r}" for k in ("usable", "problem") if k in exp)
        got = "; ".join(f"{p['label']}: usable={health(p).get('usable')!r}, problem={health(p).get('problem')!r}"
                        f" {health(p).get('detail', '')}".rstrip() for p in pts)
        chk.fail(f"{name}: health", want, got)


def check_translation(chk, i, exp, results):
    between = set(exp.get("between", []))
    found = []
    for r in results:
        for t in r.get("translations", []) or []:
            found.append(t)
            if (not between or {t.get("from"), t.get("to")} == between) \
               and ("before" not in exp or t.get("before") == exp["before"]) \
               and ("after" not in exp or t.get("after") == exp["after"]):
                return
    want = f"{exp.get('before')} → {exp.get('after')} between {' and '.join(exp.get('between', []))}"
    got = "; ".join(f"{t.get('before')} → {t.get('after')} between {t.get('from')} and {t.get('to')}" for t in found)
    chk.fail("translation", want, got or "none stated")


def check_clock(chk, i, exp, clocks):
    host = exp["host"]
    c = next((c for c in clocks if c.get("host") == host), None)
    if c is None:
        chk.fail(f"clock of {host}", "estimated", "not stated")
        return
    known = exp.get("known", True)
    if c.get("known") != known:
        chk.fail(f"clock of {host}: known", known, c.get("known"))
    if "offset_ms" in exp and known:
        # Magnitude only: the sign convention (host minus reference or the reverse) is the report's.
        got_ms = abs(int(c.get("offset_ns", 0))) / 1e6
        want_ms = abs(float(exp["offset_ms"]))
        tol = float(exp.get("tolerance_ms", 50))
        if abs(got_ms - want_ms) > tol:
            chk.fail(f"clock of {host}: |offset|", f"{want_ms:g} ms ± {tol:g}", f"{got_ms:g} ms ({c.get('method', '')})")


def validate(exp, path):
    problems = [f"unknown key {k!r}" for k in exp if k not in CASE_KEYS]
    for sect, keys in (("flow", FLOW_KEYS), ("point", POINT_KEYS), ("translation", TRANSLATION_KEYS), ("clock", CLOCK_KEYS)):
        for i, e in enumerate(exp.get(sect, [])):
            problems += [f"[[{sect}]] #{i}: unknown key {k!r}" for k in e if k not in keys]
    if problems:
        print(f"run_corpus: {path}: " + "; ".join(problems), file=sys.stderr)
        sys.exit(2)


def stored(db):
    """The database's content as SQL, without the runs table (its started time and command differ)."""
    if not os.path.exists(db):
        return []
    con = sqlite3.connect(db)
    try:
        return [line for line in con.iterdump() if not line.startswith('INSERT INTO "runs"')]
    finally:
        con.close()


def comparable(stdout):
    """The JSON report without what differs between two ingests of the same files."""
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return stdout
    if isinstance(report, dict):
        for key in ("started", "command", "run_id", "db"):
            report.pop(key, None)
    return json.dumps(report, sort_keys=True)


def compare_spilled(chk, proc, spilled, db, spilled_db):
    """The spilled ingest (--memory 1K) must say and store exactly what the one in memory did."""
    if spilled.returncode != proc.returncode:
        chk.fail("spilled run (--memory 1K): exit code", proc.returncode,
                 f"{spilled.returncode} {spilled.stderr.strip()[:300]}")
        return
    if comparable(spilled.stdout) != comparable(proc.stdout):
        chk.fail("spilled run (--memory 1K): report", "the same JSON report as in memory", "a different one")
    if stored(spilled_db) != stored(db):
        chk.fail("spilled run (--memory 1K): database", "the same stored run as in memory", "a different one")


def main(argv):
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    set_dir = os.path.abspath(argv[1])
    pathtrace = os.path.abspath(argv[2]) if os.sep in argv[2] else argv[2]
    if os.sep in pathtrace and not os.access(pathtrace, os.X_OK):
        print(f"run_corpus: {pathtrace}: not an executable (build pathtrace first)", file=sys.stderr)
        return 2
    name = os.path.basename(set_dir.rstrip("/"))
    exp_path = os.path.join(set_dir, "expected.toml")
    try:
        with open(exp_path, "rb") as f:
            exp = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"run_corpus: {exp_path}: {e}", file=sys.stderr)
        return 2
    validate(exp, exp_path)

    chk = Check()
    with tempfile.TemporaryDirectory(prefix="ptcorpus.") as tmp:
        cmd = [pathtrace, "ingest", "--db", os.path.join(tmp, "run.db"), "--json", "--quiet",
               "--inventory", os.path.join(set_dir, "inventory.toml")] + list(exp.get("args", []))
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=300)
        spill_cmd = [pathtrace, "ingest", "--db", os.path.join(tmp, "spilled.db"), "--json", "--quiet",
                     "--memory", "1K", "--inventory", os.path.join(set_dir, "inventory.toml")] + list(exp.get("args", []))
        spilled = subprocess.run(spill_cmd, cwd=tmp, capture_output=True, text=True, timeout=300)
        compare_spilled(chk, proc, spilled, os.path.join(tmp, "run.db"), os.path.join(tmp, "spilled.db"))
    shown = " ".join(cmd).replace(set_dir, name).replace(tmp, "TMP")
    report = None
    if proc.stdout.strip():
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            if not exp.get("refuse"):
                chk.fail("report", "JSON on stdout", f"unparseable ({e}): {proc.stdout[:200]!r}")

    if "exit" in exp and proc.returncode != exp["exit"]:
        chk.fail("exit code", exp["exit"], f"{proc.returncode} {proc.stderr.strip()[:300]}")
    if exp.get("refuse"):
        if proc.returncode in (0, 1):
            chk.fail("refusal", "a clear error (exit 2 or 3), no verdict",
                     f"exit {proc.returncode}: " + (report or {}).get("verdict", {}).get("headline", proc.stdout[:200]))
        elif not proc.stderr.strip():
            chk.fail("refusal", "a message on stderr", "nothing")
    elif report is None:
        if proc.returncode not in (0, 1):
            chk.fail("run", "a report", f"exit {proc.returncode}: {proc.stderr.strip()[:300]}")
    if report is not None and not exp.get("refuse"):
        results = report.get("results", [])
        for i, e in enumerate(exp.get("flow", [])):
            check_flow(chk, i, e, results)
        for i, e in enumerate(exp.get("point", [])):
            check_point(chk, i, e, report.get("points", []))
        for i, e in enumerate(exp.get("translation", [])):
            check_translation(chk, i, e, results)
        for i, e in enumerate(exp.get("clock", [])):
            check_clock(chk, i, e, report.get("clocks", []) or [])

    status = "PASS" if not chk.failures else "FAIL"
    print(f"corpus {name}: {status} — {exp.get('why', '')}")
    print(f"  command: {shown}  (exit {proc.returncode})")
    if chk.failures or verbose:
        for what, want, got in chk.failures:
            print(f"  ✗ {what}\n      expected: {want}\n      got:      {got}")
        if chk.confident_wrong:
            print("  CONFIDENT WRONG VERDICT: " + " | ".join(chk.confident_wrong))
        if report is not None:
            print("  report:")
            for r in report.get("results", []):
                print(f"    {r.get('flow_label')} [{r.get('direction')}] {r.get('verdict')}: {r.get('summary')}")
                for a in r.get("assumptions", []) or []:
                    print(f"      assumes ({a.get('kind')}): {a.get('text')}")
            for w in report.get("warnings", []):
                print(f"    warning: {w}")
            print(f"    verdict: {report.get('verdict', {}).get('headline', '')}")
        elif proc.stderr.strip():
            print("  stderr: " + proc.stderr.strip()[:500])
    return 0 if not chk.failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
