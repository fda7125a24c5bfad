# Writes the torch fixtures of this folder with Debian's python3-torch (1.13.1, CPU capability AVX2, no MKL):
#   /usr/bin/python3 make_fixtures.py
import numpy as np
import torch

rng = np.random.default_rng(14)
args = np.concatenate([
    np.float32([0.0, -0.0, 1e-30, np.pi / 2, np.pi, 2 * np.pi, 124.99999, -124.99999]),
    np.linspace(0, 4 * np.pi, 4096, dtype=np.float32),
    rng.uniform(-125, 125, 4088).astype(np.float32),
]).astype(np.float32)
np.save("cos_args.npy", args)
np.save("cos_torch.npy", torch.cos(torch.from_numpy(args)).numpy())
windows = {}
for n in (200, 320, 400, 512, 1024):
    windows[f"hann_{n}"] = torch.hann_window(n, periodic=False)
    windows[f"hamming_{n}"] = torch.hamming_window(n, periodic=False)
    windows[f"blackman_{n}"] = torch.blackman_window(n, periodic=False)
for name, w in windows.items():
    np.save(f"window_{name}.npy", w.numpy())
print(torch.__version__, len(args), "cos arguments,", len(windows), "windows")
