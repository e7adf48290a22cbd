#!/usr/bin/env python3
"""Reference fixtures for tests/unit/test_quantize_imatrix.c.

Calls llama.cpp's ggml_quantize_chunk (libggml-base.so bundled with
llama-cpp-python) through ctypes with an importance matrix, which is what
llama-quantize --imatrix runs: quantize_q4_0 .. quantize_iq4_nl with
quant_weights = imatrix (one weight per column). Writes
tests/fixtures/quant_imatrix/input.f32 (ROWS x 512 float32, LE),
imatrix.f32 (512 float32) and <type>.blocks (the ROWS rows, back to back).
Run: .peers/bin/python scripts/gen_quant_fixtures_imatrix.py
"""
import ctypes
import os

import numpy as np

import ggml_ref

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "quant_imatrix")
N = 512
# name -> (ggml type id, values per block, bytes per block)
TYPES = {
    "q4_0": (2, 32, 18), "q4_1": (3, 32, 20), "q5_0": (6, 32, 22), "q5_1": (7, 32, 24),
    "q8_0": (8, 32, 34), "q2_k": (10, 256, 84), "q3_k": (11, 256, 110), "q4_k": (12, 256, 144),
    "q5_k": (13, 256, 176), "q6_k": (14, 256, 210), "iq4_nl": (20, 32, 18),
}


def make_rows(rng):
    i = np.arange(N, dtype=np.float64)
    synth = (0.1 + 2.0 * np.cos(i)).astype(np.float32)
    normal = rng.standard_normal(N).astype(np.float32)
    outlier = (0.1 * rng.standard_normal(N)).astype(np.float32)
    for b in range(N // 32):  # one large outlier per 32 values
        outlier[b * 32 + rng.integers(32)] = rng.choice([-1.0, 1.0]) * rng.uniform(20, 60)
    zeros = rng.standard_normal(N).astype(np.float32)
    zeros[16:48] = 0.0          # zero 16/32-value sub-blocks
    zeros[256:512] = 0.0        # an all-zero super-block
    skew = np.abs(rng.standard_normal(N)).astype(np.float32) + 0.5  # all positive (min > 0 paths)
    tiny = (1e-6 * rng.standard_normal(N)).astype(np.float32)
    huge = rng.standard_normal(N).astype(np.float32)
    huge[rng.random(N) < 0.2] *= 1e4
    ties = (0.25 * rng.integers(-20, 21, size=N)).astype(np.float32)
    return np.stack([synth, normal, outlier, zeros, skew, tiny, huge, ties]).astype(np.float32)


def make_imatrix(rng):
    # skewed, strictly positive: log-normal with a few columns far above the rest
    im = np.exp(1.5 * rng.standard_normal(N))
    im[rng.choice(N, 8, replace=False)] *= 50.0
    return im.astype(np.float32)


def main():
    lib = ggml_ref.load()
    fn = lib.ggml_quantize_chunk
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                   ctypes.c_int64, ctypes.c_void_p]
    fn.restype = ctypes.c_size_t
    rng = np.random.default_rng(20240613)
    rows = np.ascontiguousarray(make_rows(rng))
    imatrix = np.ascontiguousarray(make_imatrix(rng))
    os.makedirs(OUT, exist_ok=True)
    rows.astype("<f4").tofile(os.path.join(OUT, "input.f32"))
    imatrix.astype("<f4").tofile(os.path.join(OUT, "imatrix.f32"))
    for name, (tid, bv, bb) in TYPES.items():
        size = rows.shape[0] * N // bv * bb
        dst = (ctypes.c_uint8 * size)()
        got = fn(tid, rows.ctypes.data, ctypes.addressof(dst), 0, rows.shape[0], N, imatrix.ctypes.data)
        assert got == size, (name, got, size)
        with open(os.path.join(OUT, name + ".blocks"), "wb") as f:
            f.write(bytes(dst))
        print(name, size, "bytes")


if __name__ == "__main__":
    main()
