#!/usr/bin/env bash
# Makes the audio test fixtures of org.nestspark.audio under nest-model/src/test/resources/audio/.
#
# Needs (only here, never at test time): sox 14.4.2, flac 1.4.x, espeak-ng, python3 with numpy.
# The results are committed; tests read them with our own decoders only.
#
#   flac/      FLAC files encoded by `flac` (levels -0..-8, --lax high LPC orders, many block sizes,
#              8/12/16/17/20/24/32-bit, mono/stereo/3 channels) plus one hand-crafted stream
#              (variable block size, escape-coded partitions, "from STREAMINFO" header codes), each next
#              to its reference <name>.wav written by `flac -d` (several FLACs share one reference;
#              refs.txt lists which). The script checks that every reference equals the source samples.
#   wav/       WAV layout/encoding coverage: known sample values in every encoding, sox-written variants
#              of one signal, odd-sized chunks with pad bytes, chunks after data, fmt after data, RF64.
#   resample/  Test signals at 44.1k/48k/8k/22.05k/11.025k/32k and sox's `rate -v 16000` of each (float32).
#   bad/       Broken or unsupported files for the error tests.
#
# Usage: nest-model/src/test/scripts/make-audio-fixtures.sh   (rewrites the whole audio/ folder)
# Re-running gives byte-identical files except bad/vorbis.ogg (random Ogg serial number) and bad/sound.aiff
# (sox writes a timestamp); the tests only need those two to be Ogg Vorbis and AIFF.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/../resources/audio"
for tool in sox flac espeak-ng python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rm -rf "$OUT/flac" "$OUT/wav" "$OUT/resample" "$OUT/bad"
mkdir -p "$OUT/flac" "$OUT/wav" "$OUT/resample" "$OUT/bad"

# A short English utterance (22050 Hz, 16-bit mono); everything speech-like is cut from it.
espeak-ng -v en-us -s 165 -p 45 -w "$TMP/speech22k.wav" "Seven quick brown foxes jumped over the lazy dog."

OUT="$OUT" TMP="$TMP" python3 - <<'PYEOF'
import hashlib, os, struct, subprocess
import numpy as np

OUT = os.environ["OUT"]; TMP = os.environ["TMP"]
rng = np.random.default_rng(20240917)

def run(*cmd):
    subprocess.run(cmd, check=True)

# ---------------------------------------------------------------- WAV writing / reading (numpy)
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")

def chunk(cid, body):
    pad = b"\0" if len(body) % 2 else b""
    return cid + struct.pack("<I", len(body)) + body + pad

def fmt_body(tag, ch, rate, bits, ext=False, valid=None, float_=False):
    nb = (bits + 7) // 8
    base = struct.pack("<HHIIHH", 0xFFFE if ext else tag, ch, rate, rate * ch * nb, ch * nb, bits)
    if ext:
        sub = 3 if float_ else 1
        return base + struct.pack("<HHI", 22, valid or bits, 0) + struct.pack("<H", sub) + GUID_TAIL
    return base

def pcm_bytes(x, bits, float_=False):
    """x: (frames, ch) ints (PCM, already at container width) or floats."""
    x = np.asarray(x)
    if float_:
        return x.astype("<f4" if bits == 32 else "<f8").tobytes()
    if bits == 8:
        return (x.astype(np.int64) + 128).astype(np.uint8).tobytes()
    if bits == 16:
        return x.astype("<i2").tobytes()
    if bits == 32:
        return x.astype("<i4").tobytes()
    if bits == 24:
        v = x.astype(np.int64).reshape(-1) & 0xFFFFFF
        b = np.stack([(v & 0xFF), (v >> 8) & 0xFF, (v >> 16) & 0xFF], 1).astype(np.uint8)
        return b.tobytes()
    raise ValueError(bits)

def write_wav(path, x, rate, bits, float_=False, ext=False, valid=None, before=(), after=()):
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    ch = x.shape[1]
    fmt = chunk(b"fmt ", fmt_body(3 if float_ else 1, ch, rate, bits, ext, valid, float_))
    body = b"WAVE" + fmt + b"".join(before) + chunk(b"data", pcm_bytes(x, bits, float_)) + b"".join(after)
    open(path, "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body)

def read_wav(path):
    """Minimal reader for the files this script writes or sox/flac write: returns (rate, ints/floats (frames, ch), bits, valid)."""
    d = open(path, "rb").read()
    assert d[:4] == b"RIFF" and d[8:12] == b"WAVE", path
    p = 12; fmt = None
    while p + 8 <= len(d):
        cid = d[p:p+4]; n = struct.unpack("<I", d[p+4:p+8])[0]; body = d[p+8:p+8+n]
        if cid == b"fmt ": fmt = body
        if cid == b"data": data = body; break
        p += 8 + n + (n & 1)
    tag, ch, rate, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
    valid = bits
    if tag == 0xFFFE:
        valid = struct.unpack("<H", fmt[18:20])[0]; tag = struct.unpack("<H", fmt[24:26])[0]
    nb = align // ch
    if tag == 3:
        x = np.frombuffer(data, "<f4" if nb == 4 else "<f8")
    elif nb == 1:
        x = np.frombuffer(data, np.uint8).astype(np.int64) - 128
    elif nb == 2:
        x = np.frombuffer(data, "<i2").astype(np.int64)
    elif nb == 3:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int64)
        x = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16); x = np.where(x >= 1 << 23, x - (1 << 24), x)
    else:
        x = np.frombuffer(data, "<i4").astype(np.int64)
    if tag == 1 and valid < nb * 8:
        x = x >> (nb * 8 - valid)          # flac -d left-justifies odd depths
    return rate, x.reshape(-1, ch), bits, valid

# ---------------------------------------------------------------- speech material
def speech_at(rate):
    """The espeak utterance at `rate`, as float in [-1, 1]."""
    path = f"{TMP}/speech_{rate}.wav"
    run("sox", "-D", f"{TMP}/speech22k.wav", "-b", "32", "-e", "floating-point", path, "rate", "-v", str(rate))
    _, x, _, _ = read_wav(path)
    x = x[:, 0].astype(np.float64)
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    x = x[nz[0]:]                                # drop leading silence
    return x / np.max(np.abs(x)) * 0.85

def q(x, bits):
    m = 2 ** (bits - 1)
    return np.clip(np.round(x * m), -m, m - 1).astype(np.int64)

# ---------------------------------------------------------------- FLAC fixtures
FLAC = f"{OUT}/flac"
refs = []   # (flac name, reference wav name)

def flac_encode(src_wav, name, *opts):
    dst = f"{FLAC}/{name}.flac"
    pad = [] if name == "m16_16k_l5" else ["--no-padding"]     # keep flac's 8 KB PADDING block once
    run("flac", "-s", "-f", *pad, *opts, src_wav, "-o", dst)
    return dst

def reference(flac_path, ref_name, want):
    """Decode with `flac -d` into flac/<ref_name>.wav (once) and check it equals the source ints."""
    ref = f"{FLAC}/{ref_name}.wav"
    tmp = f"{TMP}/check.wav"
    run("flac", "-s", "-f", "-d", flac_path, "-o", tmp)
    _, got, _, _ = read_wav(tmp)
    assert got.shape == want.shape and np.array_equal(got, want), f"flac -d of {flac_path} differs from source"
    if not os.path.exists(ref):
        os.replace(tmp, ref)
    else:
        assert open(ref, "rb").read() == open(tmp, "rb").read(), ref
    refs.append((os.path.basename(flac_path), ref_name + ".wav"))

def wav_for_flac(name, ints, rate, bits, valid=None):
    """Source WAV for the encoder (extensible when depth is not 8/16/24/32 or channels > 2)."""
    path = f"{TMP}/{name}.wav"
    ints = np.asarray(ints)
    if ints.ndim == 1:
        ints = ints[:, None]
    v = valid or bits
    ext = v != bits or ints.shape[1] > 2 or bits > 16
    write_wav(path, ints << (bits - v), rate, bits, ext=ext, valid=v)
    return path, ints

# mono 16-bit 16 kHz, 0.6 s: digital silence (CONSTANT), speech, a loud noise burst (VERBATIM), speech
s16k = speech_at(16000)
n = 9600
m16 = np.zeros(n)
m16[600:6600] = s16k[:6000]
m16[6600:7200] = rng.uniform(-0.95, 0.95, 600)
m16[7200:] = s16k[6000:6000 + n - 7200]
src, ints = wav_for_flac("m16_16k", q(m16, 16), 16000, 16)
for name, opts in [("m16_16k_l0", ["-0"]), ("m16_16k_l5", ["-5"]), ("m16_16k_l8", ["-8"]),
                   ("m16_16k_lax32", ["-8", "--lax", "-l", "32", "-q", "15", "-r", "15", "-b", "8192"])]:
    reference(flac_encode(src, name, *opts), "m16_16k", ints)

# mono 16-bit 8 kHz, 0.4 s: many block sizes (every block-size code) at two levels
s8k = speech_at(8000)
src, ints = wav_for_flac("m16_8k", q(s8k[1000:4200], 16), 8000, 16)
for bs in [192, 576, 1152, 2304, 4608, 256, 512, 1024, 2048, 4096, 100, 1000, 16]:
    lvl = "-8" if bs in (192, 1000, 4096) else "-3"
    reference(flac_encode(src, f"m16_8k_b{bs}", lvl, "-b", str(bs)), "m16_8k", ints)

# block sizes 16384 and 32768 appear only in a stream longer than 32768 samples: 8-bit, mostly silence
long8 = np.zeros(33500)
long8[20000:23200] = s8k[1000:4200]
src, ints = wav_for_flac("m8_8k_long", q(long8, 8), 8000, 8)
for bs in [16384, 32768]:
    reference(flac_encode(src, f"m8_8k_long_b{bs}", "-5", "--lax", "-b", str(bs)), "m8_8k_long", ints)

# stereo 16-bit 44.1 kHz, 0.2 s: identical channels, correlated channels, independent channels
s44 = speech_at(44100)
n = 8820
L = s44[3000:3000 + n].copy()
R = np.zeros(n)
R[:2940] = L[:2940]                                  # side = 0
R[2940:5880] = L[2940:5880]                          # right smooth, left = right + noise: right/side wins
L[2940:5880] += rng.normal(0, 0.01, 2940)
R[5880:] = rng.normal(0, 0.2, n - 5880)              # independent
src, ints = wav_for_flac("s16_44k", np.stack([q(L, 16), q(R, 16)], 1), 44100, 16)
for name, opts in [("s16_44k_l0", ["-0"]), ("s16_44k_l1", ["-1"]), ("s16_44k_l5", ["-5"]),
                   ("s16_44k_l8", ["-8"]), ("s16_44k_lax32", ["-8", "--lax", "-l", "32", "-b", "4608"])]:
    reference(flac_encode(src, name, *opts), "s16_44k", ints)

# stereo 24-bit 48 kHz, 0.2 s: first half 16-bit material (wasted bits), then with 24-bit noise (Rice2)
s48 = speech_at(48000)
n = 9600
L = q(s48[2000:2000 + n], 16) << 8
R = q(0.7 * s48[2500:2500 + n], 16) << 8
L[4800:] += rng.integers(-3000, 3000, n - 4800)
R[4800:] += rng.integers(-40000, 40000, n - 4800)
src, ints = wav_for_flac("s24_48k", np.stack([L, R], 1), 48000, 24)
for name, opts in [("s24_48k_l0", ["-0"]), ("s24_48k_l8", ["-8"])]:
    reference(flac_encode(src, name, *opts), "s24_48k", ints)

# mono 8-bit 12 kHz, 0.5 s
s12 = speech_at(12000)
src, ints = wav_for_flac("m8_12k", q(s12[1000:7000], 8), 12000, 8)
reference(flac_encode(src, "m8_12k", "-8", "-b", "1024"), "m8_12k", ints)

# 12-bit mono at 11025 Hz (sample rate coded in Hz), 20-bit mono at 8010 Hz (coded in tens of Hz)
s11 = speech_at(11025)
src, ints = wav_for_flac("m12_11025", q(s11[500:3800], 12), 11025, 16, valid=12)
reference(flac_encode(src, "m12_11025", "-5"), "m12_11025", ints)
s8010 = speech_at(8010)
src, ints = wav_for_flac("m20_8010", q(s8010[500:2900], 20) + rng.integers(-2, 3, 2400), 8010, 24, valid=20)
reference(flac_encode(src, "m20_8010", "-5"), "m20_8010", ints)

# 17-bit (frame header says "bit depth from STREAMINFO"), --lax
src, ints = wav_for_flac("m17_16k", q(s16k[2000:5200], 17), 16000, 24, valid=17)
reference(flac_encode(src, "m17_16k", "-5", "--lax"), "m17_16k", ints)

# 32-bit stereo 16 kHz, 0.2 s, near full scale (33-bit side channel)
n = 3200
L = q(s16k[1000:1000 + n] * 1.1, 32)
R = -L + rng.integers(-(1 << 20), 1 << 20, n)
R = np.clip(R, -(1 << 31), (1 << 31) - 1)
src, ints = wav_for_flac("s32_16k", np.stack([L, R], 1), 16000, 32)
for name, opts in [("s32_16k_l0", ["-0"]), ("s32_16k_l8", ["-8"])]:
    reference(flac_encode(src, name, *opts), "s32_16k", ints)

# three channels, 16-bit 8 kHz, 0.2 s
n = 1600
c3 = np.stack([q(s8k[500:500 + n], 16), q(0.5 * s8k[900:900 + n], 16), q(rng.normal(0, 0.05, n), 16)], 1)
src, ints = wav_for_flac("c3_8k", c3, 8000, 16)
reference(flac_encode(src, "c3_8k", "-5", "--channel-map=none"), "c3_8k", ints)

# the 16 kHz mono stream behind an ID3v2 tag
tag_frame = b"TIT2" + struct.pack(">I", 14) + b"\0\0" + b"\0nest fixture"
tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, len(tag_frame) + 30]) + tag_frame + b"\0" * 30
open(f"{FLAC}/m16_16k_id3.flac", "wb").write(tag + open(f"{FLAC}/m16_16k_l5.flac", "rb").read())
refs.append(("m16_16k_id3.flac", "m16_16k.wav"))

# ---- a hand-crafted stream: variable block sizes, "from STREAMINFO" rate/depth codes, escaped partitions,
#      Rice2, every FIXED order, LPC, wasted bits, CONSTANT, VERBATIM. Checked below with `flac -t`/`flac -d`.
CRC8 = []
CRC16 = []
for i in range(256):
    c = i
    for _ in range(8):
        c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    CRC8.append(c)
    w = i << 8
    for _ in range(8):
        w = ((w << 1) ^ 0x8005) & 0xFFFF if w & 0x8000 else (w << 1) & 0xFFFF
    CRC16.append(w)

def crc8(b):
    c = 0
    for x in b:
        c = CRC8[c ^ x]
    return c

def crc16(b):
    c = 0
    for x in b:
        c = ((c << 8) & 0xFFFF) ^ CRC16[(c >> 8) ^ x]
    return c

class Bits:
    def __init__(self):
        self.bits = []
    def put(self, v, n):
        for i in range(n - 1, -1, -1):
            self.bits.append((v >> i) & 1)
    def signed(self, v, n):
        self.put(v & ((1 << n) - 1), n)
    def unary(self, q):
        self.bits.extend([0] * q + [1])
    def tobytes(self):
        b = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, b[i:i + 8])), 2) for i in range(0, len(b), 8))

def utf8num(v):
    if v < 0x80:
        return bytes([v])
    for nbytes in range(2, 8):
        if v < (1 << (5 * nbytes + 1)) or nbytes == 7:
            break
    out = []
    for _ in range(nbytes - 1):
        out.append(0x80 | (v & 0x3F)); v >>= 6
    first = ((0xFF00 >> nbytes) & 0xFF) | v
    return bytes([first] + out[::-1])

def residual(b, res, order, n, method, part_order, escape_parts=()):
    b.put(method, 2); b.put(part_order, 4)
    parts = 1 << part_order; ps = n >> part_order; idx = 0
    for p in range(parts):
        m = ps - order if p == 0 else ps
        r = res[idx:idx + m]; idx += m
        if p in escape_parts:
            nb = max(int(max(abs(int(v)) for v in r)).bit_length() + 1, 1) if m else 0
            b.put(15 if method == 0 else 31, 4 if method == 0 else 5); b.put(nb, 5)
            for v in r:
                b.signed(int(v), nb)
            continue
        mean = np.mean(np.abs(r)) if m else 0
        k = max(0, int(np.floor(np.log2(mean + 1))) if m else 0)
        k = min(k, 14 if method == 0 else 30)
        b.put(k, 4 if method == 0 else 5)
        for v in r:
            v = int(v); u = (v << 1) if v >= 0 else ((-v) << 1) - 1
            b.unary(u >> k); b.put(u & ((1 << k) - 1), k)

def fixed_res(x, order):
    x = [int(v) for v in x]
    c = {0: [], 1: [1], 2: [2, -1], 3: [3, -3, 1], 4: [4, -6, 4, -1]}[order]
    return [x[i] - sum(c[j] * x[i - 1 - j] for j in range(order)) for i in range(order, len(x))]

def crafted_stream(x, rate, bps):
    """x: int samples (mono); the blocks are shaped to suit their subframe kind."""
    plan = [(200, "fixed", dict(order=2, method=0, po=2, esc=(1,))),
            (1000, "fixed", dict(order=3, method=1, po=3, esc=(0, 5))),
            (192, "const", {}),
            (576, "verbatim", {}),
            (256, "lpc", dict(order=3, method=0, po=1, esc=())),
            (37, "fixed", dict(order=4, method=0, po=0, esc=(0,))),
            (4096, "fixed", dict(order=1, method=1, po=4, esc=(3,))),
            (300, "wasted", dict(order=0, method=0, po=2, esc=(2,)))]
    total = sum(p[0] for p in plan)
    x = np.array(x[:total], dtype=np.int64)
    pos = 0
    for bs, kind, _ in plan:
        if kind == "const":
            x[pos:pos + bs] = 37
        elif kind == "verbatim":
            x[pos:pos + bs] = rng.integers(-(1 << (bps - 1)), 1 << (bps - 1), bs)
        elif kind == "wasted":
            x[pos:pos + bs] = (x[pos:pos + bs] >> 3) << 3
        pos += bs
    frames = b""; pos = 0
    bscodes = {192: (1, b""), 576: (2, b""), 256: (8, b""), 4096: (12, b"")}
    for bs, kind, prm in plan:
        blk = x[pos:pos + bs]
        code, extra = bscodes.get(bs, (6, bytes([bs - 1])) if bs <= 256 else (7, struct.pack(">H", bs - 1)))
        hdr = bytes([0xFF, 0xF9, (code << 4) | 0, (0 << 4) | (0 << 1)]) + utf8num(pos) + extra
        hdr += bytes([crc8(hdr)])
        b = Bits()
        b.put(0, 1)
        if kind == "const":
            b.put(0, 6); b.put(0, 1); b.signed(int(blk[0]), bps)
        elif kind == "verbatim":
            b.put(1, 6); b.put(0, 1)
            for v in blk:
                b.signed(int(v), bps)
        elif kind in ("fixed", "wasted"):
            w = 3 if kind == "wasted" else 0
            y = blk >> w
            o = prm["order"]
            b.put(8 + o, 6)
            if w:
                b.put(1, 1); b.unary(w - 1)
            else:
                b.put(0, 1)
            for v in y[:o]:
                b.signed(int(v), bps - w)
            residual(b, fixed_res(y, o), o, bs, prm["method"], prm["po"], prm["esc"])
        elif kind == "lpc":
            o = prm["order"]; prec = 12; shift = 10
            X = np.stack([blk[o - 1 - j:bs - 1 - j] for j in range(o)], 1).astype(np.float64)
            coef, *_ = np.linalg.lstsq(X, blk[o:].astype(np.float64), rcond=None)
            qc = [int(np.clip(round(c * (1 << shift)), -(1 << (prec - 1)), (1 << (prec - 1)) - 1)) for c in coef]
            b.put(32 + o - 1, 6); b.put(0, 1)
            for v in blk[:o]:
                b.signed(int(v), bps)
            b.put(prec - 1, 4); b.signed(shift, 5)
            for c in qc:
                b.signed(c, prec)
            xs = [int(v) for v in blk]
            res = [xs[i] - (sum(qc[j] * xs[i - 1 - j] for j in range(o)) >> shift) for i in range(o, bs)]
            residual(b, res, o, bs, prm["method"], prm["po"], prm["esc"])
        body = hdr + b.tobytes()
        frames += body + struct.pack(">H", crc16(body))
        pos += bs
    nb = (bps + 7) // 8
    md5 = hashlib.md5(b"".join(int(v).to_bytes(nb, "little", signed=True) for v in x)).digest()
    minbs = min(p[0] for p in plan); maxbs = max(p[0] for p in plan)
    si = struct.pack(">HH", minbs, maxbs) + (0).to_bytes(3, "big") + (0).to_bytes(3, "big")
    packed = (rate << 44) | (0 << 41) | ((bps - 1) << 36) | total
    si += packed.to_bytes(8, "big") + md5
    meta = bytes([0x00]) + len(si).to_bytes(3, "big") + si
    pad = bytes([0x81]) + (16).to_bytes(3, "big") + b"\0" * 16      # a PADDING block, last
    return b"fLaC" + meta + pad + frames, x

s22 = speech_at(22050)
x12 = q(s22[800:800 + 7000], 12) + rng.integers(-1, 2, 7000)
x12 = np.clip(x12, -2048, 2047)
data, x12 = crafted_stream(x12, 22050, 12)
path = f"{FLAC}/crafted_vbs.flac"
open(path, "wb").write(data)
run("flac", "-s", "-t", path)
reference(path, "crafted_vbs", x12[:, None])

with open(f"{FLAC}/refs.txt", "w") as f:
    f.write("# <flac file> <reference wav decoded by `flac -d`>\n")
    for a, r in refs:
        f.write(f"{a} {r}\n")

# ---------------------------------------------------------------- WAV fixtures
WAV = f"{OUT}/wav"
VALS = {  # known values per encoding (the tests hold the same lists)
    8: [0, 255, 128, 1, 127, 129, 64, 200],                          # unsigned bytes
    16: [-32768, 32767, 0, 1, -1, 12345, -23456, 256],
    24: [-8388608, 8388607, 0, 1, -1, 1234567, -7654321, 65536],
    32: [-2147483648, 2147483647, 0, 1, -1, 123456789, -987654321, 16777217],
}
FVALS = [0.0, -1.0, 1.0, 0.5, -0.25, 1.5, 1e-30, -3.4e38]
DVALS = [0.0, -1.0, 1.0, 0.1, -1.0 / 3, 2.5, 1e-300, 123456.789]
write_wav(f"{WAV}/vals_u8.wav", np.array(VALS[8]) - 128, 16000, 8)
write_wav(f"{WAV}/vals_u8_ext.wav", np.array(VALS[8]) - 128, 16000, 8, ext=True)
write_wav(f"{WAV}/vals_s16.wav", VALS[16], 16000, 16)
write_wav(f"{WAV}/vals_s24.wav", VALS[24], 16000, 24)
write_wav(f"{WAV}/vals_s24_ext.wav", VALS[24], 16000, 24, ext=True)
write_wav(f"{WAV}/vals_s32.wav", VALS[32], 16000, 32)
write_wav(f"{WAV}/vals_s32_ext.wav", VALS[32], 16000, 32, ext=True)
write_wav(f"{WAV}/vals_f32.wav", np.array(FVALS, dtype=np.float32), 16000, 32, float_=True)
write_wav(f"{WAV}/vals_f32_ext.wav", np.array(FVALS, dtype=np.float32), 16000, 32, float_=True, ext=True)
write_wav(f"{WAV}/vals_f64.wav", np.array(DVALS), 16000, 64, float_=True)
write_wav(f"{WAV}/vals_s20in24_ext.wav", np.array([-524288, 524287, 0, 1, -1, 300000, -12345, 16]) << 4,
          16000, 24, ext=True, valid=20)

# one stereo signal whose values are exact in every encoding (multiples of 256 in 16 bits): sox writes
# it as 8/16/24/32-bit PCM and 32/64-bit float; all must decode to the same floats
n = 400
base = np.stack([q(0.8 * s8k[2000:2000 + n], 8), q(0.5 * s8k[2500:2500 + n], 8)], 1) << 8
write_wav(f"{TMP}/base.wav", base, 8000, 16)
run("sox", "-D", f"{TMP}/base.wav", f"{WAV}/sox_s16.wav")
run("sox", "-D", f"{TMP}/base.wav", "-b", "8", f"{WAV}/sox_u8.wav")
run("sox", "-D", f"{TMP}/base.wav", "-b", "24", f"{WAV}/sox_s24.wav")
run("sox", "-D", f"{TMP}/base.wav", "-b", "32", f"{WAV}/sox_s32.wav")
run("sox", "-D", f"{TMP}/base.wav", "-e", "floating-point", "-b", "32", f"{WAV}/sox_f32.wav")
run("sox", "-D", f"{TMP}/base.wav", "-e", "floating-point", "-b", "64", f"{WAV}/sox_f64.wav")
# three channels (sox writes WAVE_FORMAT_EXTENSIBLE) for the down-mix
run("sox", "-D", "-M", f"{TMP}/base.wav", f"{WAV}/sox_u8.wav", f"{TMP}/c3.wav", "remix", "1", "2", "3")
os.replace(f"{TMP}/c3.wav", f"{WAV}/sox_c3_s16.wav")

# chunk layout: LIST (odd size) + pad before data, fact, odd-sized 8-bit data + pad, chunks after data
mono8 = base[:399, 0] >> 8                            # odd frame count -> odd data size -> pad byte
info = chunk(b"LIST", b"INFOINAM" + struct.pack("<I", 5) + b"abcd\0")      # 17 bytes: odd
fact = chunk(b"fact", struct.pack("<I", len(mono8)))
junk = chunk(b"JUNK", b"\0" * 28)
tail = chunk(b"LIST", b"INFOICMT" + struct.pack("<I", 3) + b"hi\0") + chunk(b"id3 ", b"ID3\x03\0\0\0\0\0\0")
write_wav(f"{WAV}/chunks_plain.wav", mono8, 11025, 8)
write_wav(f"{WAV}/chunks_odd.wav", mono8, 11025, 8, before=[junk, info, fact], after=[tail])
# fmt after data
fmtc = chunk(b"fmt ", fmt_body(1, 1, 11025, 8))
body = b"WAVE" + info + chunk(b"data", pcm_bytes(mono8[:, None], 8)) + fmtc + tail
open(f"{WAV}/chunks_fmt_last.wav", "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body)

# RF64 and BW64 with the sizes in ds64 (data chunk size 0xFFFFFFFF)
def rf64(path, magic, x, rate, bits):
    x = np.asarray(x)
    pcm = pcm_bytes(x, bits)
    fmt = chunk(b"fmt ", fmt_body(1, x.shape[1], rate, bits))
    data = b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm + (b"\0" if len(pcm) % 2 else b"")
    riff_size = 4 + (8 + 28) + len(fmt) + len(data)          # "WAVE" + ds64 + fmt + data
    ds64 = chunk(b"ds64", struct.pack("<QQQI", riff_size, len(pcm), x.shape[0], 0))
    open(path, "wb").write(magic + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + ds64 + fmt + data)
rf64(f"{WAV}/rf64_s16.wav", b"RF64", base, 8000, 16)
rf64(f"{WAV}/bw64_s16.wav", b"BW64", base, 8000, 16)

# ---------------------------------------------------------------- resampler fixtures
RS = f"{OUT}/resample"
for rate in [44100, 48000, 8000, 22050, 11025, 32000]:
    low = min(rate, 16000)
    fmax = 0.875 * low / 2
    tones = [300, 1000, 3500, 6000] if low == 16000 else ([300, 1000, 2500, 3400] if low == 8000 else [300, 1000, 3500, 4500])
    n = int(0.3 * rate)
    t = np.arange(n) / rate
    x = sum(0.1 * np.sin(2 * np.pi * f * t + k) for k, f in enumerate(tones))
    f0, f1 = 100.0, fmax                                    # linear sweep
    x += 0.2 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * t[-1])))
    oob = [f for f in (10000, 15000, 21000) if rate > 16000 and f < rate / 2 - 300]
    x += sum(0.1 * np.sin(2 * np.pi * f * t + 0.3) for f in oob)
    write_wav(f"{RS}/mix_{rate}.wav", q(x, 16), rate, 16)
    run("sox", "-D", f"{RS}/mix_{rate}.wav", "-e", "floating-point", "-b", "32", f"{RS}/mix_{rate}_sox16k.wav",
        "rate", "-v", "16000")

# ---------------------------------------------------------------- broken / unsupported files
BAD = f"{OUT}/bad"
x = q(0.5 * s16k[3000:4600], 16)
write_wav(f"{TMP}/ok.wav", x, 16000, 16)
ok = open(f"{TMP}/ok.wav", "rb").read()                                  # 44-byte header + 3200 bytes
open(f"{BAD}/truncated_data.wav", "wb").write(ok[:44 + 2000])           # declares 3200, has 2000
open(f"{BAD}/ffff_data.wav", "wb").write(ok[:40] + struct.pack("<I", 0xFFFFFFFF) + ok[44:44 + 1000])
odd = ok[:40] + struct.pack("<I", 1999) + ok[44:44 + 1999] + b"\0"
open(f"{BAD}/not_block_multiple.wav", "wb").write(odd)
lst = ok[:12] + b"LIST" + struct.pack("<I", 100000) + b"INFO" + ok[12:200]
open(f"{BAD}/lying_list.wav", "wb").write(lst)
rate0 = bytearray(ok[:44 + 320]); rate0[40:44] = struct.pack("<I", 320); rate0[24:28] = b"\0\0\0\0"
open(f"{BAD}/rate0.wav", "wb").write(bytes(rate0))
run("sox", "-r", "16000", "-n", "-b", "16", f"{BAD}/empty_data.wav", "trim", "0", "0")
f = np.array(x[:400], dtype=np.float32) / 32768
f[123] = np.nan
write_wav(f"{BAD}/nan.wav", f, 16000, 32, float_=True)
st = np.stack([np.array(x[:200], dtype=np.float32) / 32768] * 2, 1)
st[57, 1] = -np.inf
write_wav(f"{BAD}/inf.wav", st, 16000, 32, float_=True)
d = np.array(x[:100], dtype=np.float64) / 32768
d[42] = 1e300
write_wav(f"{BAD}/f64_overflow.wav", d, 16000, 64, float_=True)
write_wav(f"{TMP}/short.wav", x[:3200], 16000, 16)
run("sox", "-D", f"{TMP}/short.wav", "-e", "a-law", f"{BAD}/alaw.wav")
run("sox", "-D", f"{TMP}/short.wav", "-e", "u-law", f"{BAD}/ulaw.wav")
run("sox", "-D", f"{TMP}/short.wav", "-e", "ima-adpcm", f"{BAD}/ima_adpcm.wav")
run("sox", "-D", f"{TMP}/short.wav", f"{BAD}/vorbis.ogg")
run("sox", "-D", f"{TMP}/short.wav", f"{BAD}/sound.aiff")
run("sox", "-D", f"{TMP}/short.wav", f"{BAD}/sound.mp3")
run("sox", "-D", f"{TMP}/short.wav", f"{BAD}/sound.au")
open(f"{BAD}/text.wav", "w").write("this is not audio, just a text file named .wav\n")

# FLAC: cut in the middle of the third frame; one byte flipped in the middle of the second frame.
good = open(f"{FLAC}/m8_12k.flac", "rb").read()
def frame_starts(d):
    p = 4
    while True:
        last = d[p] & 0x80; ln = int.from_bytes(d[p + 1:p + 4], "big"); p += 4 + ln
        if last:
            break
    starts = [p]
    while True:                                            # next sync whose preceding CRC-16 matches
        s = starts[-1]; q_ = s + 2
        while q_ < len(d) - 1 and not (d[q_] == 0xFF and d[q_ + 1] & 0xFE == 0xF8 and crc16(d[s:q_ - 2]) == int.from_bytes(d[q_ - 2:q_], "big")):
            q_ += 1
        if q_ >= len(d) - 1:
            return starts, len(d)
        starts.append(q_)
starts, end = frame_starts(good)
assert len(starts) >= 4, starts
open(f"{BAD}/truncated.flac", "wb").write(good[:(starts[2] + starts[3]) // 2])
flip = bytearray(good); mid = (starts[1] + starts[2]) // 2; flip[mid] ^= 0x10
open(f"{BAD}/corrupt.flac", "wb").write(bytes(flip))
with open(f"{BAD}/README.txt", "w") as fh:
    fh.write("truncated.flac: m8_12k.flac (block size 1024) cut at byte %d, inside the frame at sample 2048\n"
             % ((starts[2] + starts[3]) // 2))
    fh.write("corrupt.flac: m8_12k.flac with byte %d (inside the frame at sample 1024, bytes %d-%d) xor 0x10\n"
             % (mid, starts[1], starts[2] - 1))
print("fixtures written")
PYEOF

du -sh "$OUT"
find "$OUT" -type f | wc -l
