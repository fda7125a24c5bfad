#!/usr/bin/env python3
"""Loads the state dict of .nemo archives with PyTorch itself and compares them (TorchLoadIT runs it).

  torch_load_nemo.py OURS.nemo NEMOS.nemo same
      OURS loads with torch.load(weights_only=True); its keys (in order), dtypes, shapes and every tensor's
      bits equal those of NEMOS (an archive NeMo wrote).
  torch_load_nemo.py OURS.nemo NEMOS.nemo EXPECTED_DIR
      OURS loads as above; keys, dtypes and shapes as NEMOS's; every tensor's bits equal EXPECTED_DIR's
      (keys.txt: one key per line in saved order; <line number from 0>.npy: the tensor nest-spark wrote).

Either way the preprocessor window must equal torch.hann_window(n, periodic=False) bit for bit.
Prints one summary line; exit 0 when everything matches, 1 with every mismatch listed otherwise.
"""
import io
import sys
import tarfile

import numpy as np
import torch


def state_dict(path):
    with tarfile.open(path, "r:*") as tar:
        members = [m for m in tar.getmembers() if m.name.lstrip("./") == "model_weights.ckpt"]
        if len(members) != 1:
            sys.exit(f"{path}: no model_weights.ckpt member")
        data = tar.extractfile(members[0]).read()
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def bits(a):
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ours_path, nemos_path, mode = sys.argv[1:]
    ours = state_dict(ours_path)
    nemos = state_dict(nemos_path)
    problems = []
    if list(ours.keys()) != list(nemos.keys()):
        problems.append(f"key order differs from NeMo's: {list(ours.keys())[:5]}... vs {list(nemos.keys())[:5]}...")
    for k, t in ours.items():
        if not isinstance(t, torch.Tensor):
            problems.append(f"{k}: not a tensor ({type(t).__name__})")
            continue
        n = nemos.get(k)
        if n is not None and (t.dtype != n.dtype or tuple(t.shape) != tuple(n.shape)):
            problems.append(f"{k}: {t.dtype} {tuple(t.shape)}, NeMo's is {n.dtype} {tuple(n.shape)}")
    if mode == "same":
        expected = {k: v.numpy() for k, v in nemos.items()}
    else:
        with open(f"{mode}/keys.txt", encoding="utf-8") as f:
            keys = [line.rstrip("\n") for line in f if line.strip()]
        if keys != list(ours.keys()):
            problems.append("keys differ from the ones nest-spark wrote")
        expected = {k: np.load(f"{mode}/{i}.npy") for i, k in enumerate(keys)}
    equal = 0
    for k, t in ours.items():
        e = expected.get(k)
        if e is None:
            problems.append(f"{k}: nothing to compare with")
            continue
        a = t.numpy()
        if a.dtype != e.dtype or a.shape != e.shape:
            problems.append(f"{k}: {a.dtype} {a.shape}, expected {e.dtype} {e.shape}")
        elif not np.array_equal(bits(a), bits(e)):
            problems.append(f"{k}: values differ (max |diff| {np.max(np.abs(a.astype(np.float64) - e.astype(np.float64)))})")
        else:
            equal += 1
    w = ours.get("preprocessor.featurizer.window")
    if w is None or not torch.equal(w.view(torch.int32), torch.hann_window(w.numel(), periodic=False).view(torch.int32)):
        problems.append("preprocessor.featurizer.window is not torch.hann_window(n, periodic=False) bit for bit")
    if problems:
        print(f"torch {torch.__version__}: {ours_path}: {len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"torch {torch.__version__}: {ours_path}: {equal} of {len(ours)} tensors equal, NeMo's key order and dtypes, window = torch.hann_window")
    return 0


if __name__ == "__main__":
    sys.exit(main())
