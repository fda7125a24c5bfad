#!/usr/bin/env python3
"""NumPy reference for KaldiMfcc (HuBERT iteration-0 features): writes input.npy and mfcc39.npy here.

The formula of torchaudio.compliance.kaldi.mfcc(waveform, sample_frequency=16000, use_energy=False)
followed by torchaudio.functional.compute_deltas twice (fairseq examples/hubert/simple_kmeans/
dump_mfcc_feature.py), written from the formula with NumPy in float64, vectorised the NumPy way
(strided frames, rfft, matrix products) rather than loop by loop as the Java code does.
Run: python3 kaldi_mfcc_reference.py   (needs python3-numpy only)
"""
import os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sr = 16000
rng = np.random.default_rng(14)
t = np.arange(int(0.73 * sr)) / sr  # 11680 samples: 71 frames, a length that is not a multiple of the shift
x = 0.3 * np.sin(2 * np.pi * (150 + 900 * t) * t) + 0.05 * rng.standard_normal(t.size)
x[:800] *= np.linspace(0, 1, 800)
x[5000:5400] = 0.0  # a silent stretch: the log floor
x = x.astype(np.float32)

win, shift, nfft, nmel, nceps, q = 400, 160, 512, 23, 13, 22.0
m = 1 + (x.size - win) // shift
frames = np.stack([x[i * shift:i * shift + win] for i in range(m)]).astype(np.float64)
frames -= frames.mean(axis=1, keepdims=True)
prev = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
frames = frames - 0.97 * prev
n = np.arange(win)
window = (0.5 - 0.5 * np.cos(2 * np.pi * n / (win - 1))) ** 0.85
spec = np.abs(np.fft.rfft(frames * window, n=nfft, axis=1)) ** 2  # (m, 257)

def mel(f):
    return 1127.0 * np.log(1.0 + f / 700.0)

lo, hi = mel(20.0), mel(sr / 2)
d = (hi - lo) / (nmel + 1)
b = np.arange(nmel)[:, None]
left, center, right = lo + b * d, lo + (b + 1) * d, lo + (b + 2) * d
fm = mel(sr / nfft * np.arange(nfft // 2))[None, :]
banks = np.maximum(0.0, np.minimum((fm - left) / (center - left), (right - fm) / (right - center)))
banks = np.pad(banks, ((0, 0), (0, 1)))  # the Nyquist bin has weight 0
logmel = np.log(np.maximum(spec @ banks.T, np.finfo(np.float32).eps))

k = np.arange(nmel)[None, :]
dct = np.cos(np.pi / nmel * (np.arange(nmel)[:, None] + 0.5) * np.arange(nmel)[None, :])  # (n, k)
dct *= np.sqrt(2.0 / nmel)
dct[:, 0] = np.sqrt(1.0 / nmel)
ceps = (logmel @ dct[:, :nceps]) * (1 + 0.5 * q * np.sin(np.pi * np.arange(nceps) / q))

def deltas(c):
    p = np.pad(c, ((2, 2), (0, 0)), mode="edge")
    return sum(kk * (p[2 + kk:2 + kk + c.shape[0]] - p[2 - kk:2 - kk + c.shape[0]]) for kk in (1, 2)) / 10.0

d1 = deltas(ceps)
d2 = deltas(d1)
np.save(os.path.join(here, "input.npy"), x)
np.save(os.path.join(here, "mfcc39.npy"), np.concatenate([ceps, d1, d2], axis=1).astype(np.float64))
print("frames", m, "dims", 3 * nceps)
