"""Reads a nest-spark run folder's metrics: the rules of the Java reader, org.nestspark.job.pretrain.MetricsReader.

A run folder holds
  metrics/attempt-NNNN.jsonl            one file per attempt (JSON Lines, appended while the attempt runs), or on
  metrics/attempt-NNNN-part-MMMM.jsonl  object stores one part per checkpoint interval of an attempt;
  metrics.jsonl                         the single file of runs written before the per-attempt layout (read first).

Files are read in order: the single file, then by attempt, then by part. Each attempt's first record is
{"kind": "attempt", "resumed_from": S, ...}: it drops every record read so far whose step is greater than S
(that work was done again by this attempt; S = -1 for a new run drops all). What remains has each step once.
A line that is not JSON (the last line of a file still being written) is skipped and counted.
"""
import json
import os
import re

LEGACY_FILE = "metrics.jsonl"
DIR = "metrics"
_NAME = re.compile(r"attempt-(\d+)(?:-part-(\d+))?\.jsonl$")


def metric_files(run_dir):
    """[(path, attempt, part)] in reading order; attempt 0 is the single file of older runs."""
    files = []
    legacy = os.path.join(run_dir, LEGACY_FILE)
    if os.path.isfile(legacy):
        files.append((legacy, 0, 0))
    d = os.path.join(run_dir, DIR)
    if os.path.isdir(d):
        parts = []
        for name in os.listdir(d):
            m = _NAME.match(name)
            if m and os.path.isfile(os.path.join(d, name)):
                parts.append((os.path.join(d, name), int(m.group(1)), int(m.group(2) or 0)))
        files.extend(sorted(parts, key=lambda p: (p[1], p[2])))
    return files


def is_run(run_dir):
    """True when the folder holds metrics of either layout."""
    return bool(metric_files(run_dir))


def read_metrics(run_dir):
    """(records, unreadable lines): the effective records in order, each tagged with "_attempt" (0: older single file)."""
    records, broken = [], 0
    for path, attempt, _ in metric_files(run_dir):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    broken += 1
                    continue
                if not isinstance(r, dict):
                    broken += 1
                    continue
                if r.get("kind") == "attempt":
                    start = r.get("resumed_from", -1)
                    records = [x for x in records if not (isinstance(x.get("step"), (int, float)) and x["step"] > start)]
                r["_attempt"] = attempt
                records.append(r)
    return records, broken


if __name__ == "__main__":
    import sys

    recs, bad = read_metrics(sys.argv[1])
    steps = [r["step"] for r in recs if r.get("kind") == "train"]
    print(json.dumps({"records": len(recs), "unreadable": bad, "train_steps": steps}))
