#!/usr/bin/env python3
"""Purity and NMI of k-means labels (nest kmeans) against a per-utterance reference label.

Usage: deploy/bench/label-purity.py LABELS_MANIFEST [--key FIELD]
Every label frame takes its utterance's reference: the manifest field FIELD, or (default) the espeak-ng voice
the bundled sample's script (deploy/sample/make-sample-corpus.sh) spoke utterance utt_NN with. Prints frame
counts, purity (each cluster counted as its most frequent reference) and NMI (mutual information over the
arithmetic mean of the two entropies, scikit-learn's default). Needs python3-numpy.
"""
import argparse
import json
import math
import os
import re
import sys

import numpy as np

VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+f2", "en+m7", "en-us+m4", "en-gb+f4"]
SENTENCES = 32


def sample_voice(audio_path):
    m = re.search(r"utt_(\d+)\.", os.path.basename(audio_path))
    if not m:
        raise ValueError(f"{audio_path}: not a sample utterance (utt_NN); give --key")
    j = int(m.group(1))
    r, i = divmod(j, SENTENCES)
    return VOICES[(i + r) % len(VOICES)]


def entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("--key", help="manifest field holding the reference label (default: the sample's voice)")
    a = ap.parse_args()
    base = os.path.dirname(os.path.abspath(a.manifest))
    labels, refs = [], []
    with open(a.manifest, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            e = json.loads(line)
            path = e["label_filepath"]
            path = path if os.path.isabs(path) else os.path.join(base, path)
            lab = np.load(path)
            ref = e[a.key] if a.key else sample_voice(e["audio_filepath"])
            labels.append(lab.astype(np.int64))
            refs.extend([ref] * lab.size)
    y = np.concatenate(labels)
    names = sorted(set(refs))
    r = np.array([names.index(v) for v in refs])
    table = np.zeros((y.max() + 1, len(names)))
    np.add.at(table, (y, r), 1)
    n = table.sum()
    purity = table.max(axis=1).sum() / n
    hy, hr = entropy(table.sum(axis=1)), entropy(table.sum(axis=0))
    pxy = table / n
    px, pr = pxy.sum(axis=1, keepdims=True), pxy.sum(axis=0, keepdims=True)
    nz = pxy > 0
    mi = float((pxy[nz] * np.log(pxy[nz] / (px @ pr)[nz])).sum())
    nmi = mi / ((hy + hr) / 2) if hy + hr > 0 else 0.0
    print(f"frames {int(n)}  clusters used {int((table.sum(axis=1) > 0).sum())}  references {len(names)}  "
          f"purity {purity:.3f}  NMI {nmi:.3f}  (majority reference {table.sum(axis=0).max() / n:.3f})")


if __name__ == "__main__":
    sys.exit(main())
