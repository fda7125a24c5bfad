#!/usr/bin/env python3
"""Writes a small synthetic pretraining run and extracted-feature folder in the formats nest-spark's jobs
write, for developing and smoke-testing the notebooks without running the jobs (numpy only).

    python3 notebooks/make_fixture_run.py OUT_DIR
    notebooks/run-notebooks.sh OUT_DIR/exp/nest OUT_DIR/features

The numbers are made up (a decaying loss, a Noam learning rate, random features with a per-voice offset so
that a linear probe has something to find); the layout and keys are those of the real jobs:

OUT_DIR/exp/nest/                       the run folder (<exp_manager.exp_dir>/<exp_manager.name>)
  metrics/attempt-000{1,2}.jsonl        kind = attempt | train | val | epoch | timing records (two attempts)
  checkpoints/step-000020.ckpt ...      zip: checkpoint.json, config.conf, model.zip, SHA256SUMS
  preview/clean_features.npy [F, T]     log-mel of one utterance (float32)
  preview/noisy_features.npy [F, T]     its augmented, masked input (float32)
  preview/frame_mask.npy [T]            uint8, 1 = masked frame
  preview/preview.json
OUT_DIR/features/                       as `nest extract` writes it
  <name>.npy [L, D, T] float32          one per utterance
  features.json                         one JSON line per utterance: the manifest entry + feature_path + ...
"""
import hashlib
import io
import json
import math
import os
import sys
import zipfile

import numpy as np

SAMPLE_VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+f2", "en+m7", "en-us+m4", "en-gb+f4"]


def iso(t):
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    return "2026-11-22T%02d:%02d:%02dZ" % (8 + h, m, s)


def write_metrics(run, rng, max_steps=60, log_every=5, val_every=20, steps_per_epoch=7):
    t = 0.0
    lines = []
    d_model, warmup, lr0 = 64, 50, 5.0
    audio_total = 0.0
    epoch = 0
    for step in range(1, max_steps + 1):
        step_time = 1.6 + 0.2 * rng.standard_normal()
        t += step_time
        audio_total += 4 * 2.8
        if step % log_every == 0:
            lr = lr0 * d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)
            loss = 5.55 * math.exp(-step / 80) + 0.05 * rng.standard_normal()
            acc = min(0.9, 0.004 + 0.002 * step + 0.005 * rng.standard_normal())
            rec = {"kind": "train", "step": step, "epoch": epoch, "train_loss": round(loss, 4), "masked_accuracy": round(acc, 4),
                   "lr": lr, "audio_seconds": round(audio_total, 2), "audio_seconds_per_second": round(4 * 2.8 / step_time, 2),
                   "steps_per_second": round(1 / step_time, 3), "elapsed_s": round(t, 2), "time": iso(t)}
            if step == 5:
                rec.pop("masked_accuracy")  # optional keys may be missing
            lines.append(rec)
        if step % val_every == 0:
            lines.append({"kind": "val", "step": step, "epoch": epoch, "val_loss": round(5.6 * math.exp(-step / 90), 4),
                          "val_masked_accuracy": round(0.003 + 0.0018 * step, 4), "val_batches": 1, "time": iso(t + 2)})
            lines.append({"kind": "timing", "step": step, "data_prep_s": round(0.08 * val_every, 3),
                          "train_s": round(1.4 * val_every, 3), "averaging_s": round(0.15 * val_every, 3),
                          "wall_s": round(1.75 * val_every, 3)})
            write_checkpoint(run, step, epoch)
        if step % steps_per_epoch == 0:
            lines.append({"kind": "epoch", "epoch": epoch, "step": step, "skipped_utterances": 0,
                          "skipped_empty_batches": int(epoch == 1), "skipped_failed_batches": 0, "skipped_non_finite_steps": 0,
                          "time": iso(t)})
            epoch += 1
    # two attempts, as nest-spark writes them (metrics/attempt-NNNN.jsonl): the first logs up to step 45 and dies
    # after its checkpoint at 40; the second resumes from 40 and logs 41.. again (readers keep the second's records)
    resumed_from = 40
    first = [r for r in lines if r.get("step", 0) <= 45]
    second = [r for r in lines if r.get("step", 0) > resumed_from]
    os.makedirs(os.path.join(run, "metrics"), exist_ok=True)
    for n, (start, recs) in enumerate([(-1, first), (resumed_from, second)], 1):
        with open(os.path.join(run, "metrics", "attempt-%04d.jsonl" % n), "w") as f:
            f.write(json.dumps({"kind": "attempt", "attempt": n, "resumed_from": start, "host": "fixture", "pid": n}) + "\n")
            for rec in recs:
                if n == 1 and rec.get("step", 0) > resumed_from and "train_loss" in rec:
                    rec = dict(rec, train_loss=rec["train_loss"] + 1.0)  # the superseded work: a reader that kept it would show a jump
                f.write(json.dumps(rec) + "\n")


def write_checkpoint(run, step, epoch):
    ckdir = os.path.join(run, "checkpoints")
    os.makedirs(ckdir, exist_ok=True)
    entries = {
        "checkpoint.json": json.dumps({"step": step, "epoch": epoch, "fixture": True}).encode(),
        "config.conf": b"# fixture: not a trained model\n",
        "model.zip": b"",
    }
    sums = "".join("%s  %s\n" % (hashlib.sha256(v).hexdigest(), k) for k, v in entries.items())
    with zipfile.ZipFile(os.path.join(ckdir, "step-%06d.ckpt" % step), "w") as z:
        for k, v in entries.items():
            z.writestr(k, v)
        z.writestr("SHA256SUMS", sums)


def write_preview(run, rng, features=80, frames=304):
    prev = os.path.join(run, "preview")
    os.makedirs(prev, exist_ok=True)
    t = np.arange(frames)
    # a spectrogram-like pattern: formant bands moving over time, normalised per feature
    f = np.arange(features)[:, None]
    clean = np.sin(f / 6.0 + t[None, :] / 15.0) + 0.6 * np.cos(f / 3.0 - t[None, :] / 9.0) + 0.3 * rng.standard_normal((features, frames))
    clean = (clean - clean.mean(1, keepdims=True)) / (clean.std(1, keepdims=True) + 1e-5)
    noisy = clean + 0.5 * rng.standard_normal((features, frames))
    mask = np.zeros(frames, dtype=np.uint8)
    for start in rng.choice(frames - 40, size=4, replace=False):
        mask[start:start + 40] = 1
    noisy[:, mask == 1] = 0.0  # NEST replaces masked frames by the mask embedding; the fixture uses zeros
    np.save(os.path.join(prev, "clean_features.npy"), clean.astype(np.float32))
    np.save(os.path.join(prev, "noisy_features.npy"), noisy.astype(np.float32))
    np.save(os.path.join(prev, "frame_mask.npy"), mask)
    with open(os.path.join(prev, "preview.json"), "w") as fh:
        json.dump({"audio_filepath": "speech/utt_00.wav", "duration": 3.04, "step": 0, "noise_applied": True, "fixture": True}, fh)


def write_features(out, rng, layers=3, dim=64, n=32):
    os.makedirs(out, exist_ok=True)
    voice_means = rng.standard_normal((len(SAMPLE_VOICES), dim))
    with open(os.path.join(out, "features.json"), "w") as fh:
        for i in range(n):
            frames = int(rng.integers(20, 50))
            x = rng.standard_normal((layers, dim, frames))
            for layer in range(layers):
                # deeper layers carry more of the voice, as a probe should find
                x[layer] += (0.06 * (layer + 1)) * voice_means[i % len(SAMPLE_VOICES)][:, None]
            ext = "wav" if i % 2 == 0 else "flac"
            audio = "speech/utt_%02d.%s" % (i, ext)
            path = os.path.join(out, "speech_utt_%02d_%s.npy" % (i, ext))
            np.save(path, x.astype(np.float32))
            fh.write(json.dumps({"audio_filepath": audio, "duration": round(frames * 0.08, 2), "feature_path": path,
                                 "num_frames": frames, "layers": list(range(layers))}) + "\n")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    run = os.path.join(out, "exp", "nest")
    os.makedirs(run, exist_ok=True)
    write_metrics(run, rng)
    write_preview(run, rng)
    write_features(os.path.join(out, "features"), rng)
    print("run:      %s\nfeatures: %s" % (run, os.path.join(out, "features")))


if __name__ == "__main__":
    main()
