#!/usr/bin/env python3
"""Reference fixtures for tests/unit/test_quantize_legacy.c.

Calls llama.cpp's own quantize_row_<type>_ref (libggml-base.so bundled with
llama-cpp-python) through ctypes on a handful of 2048-value rows and stores
the inputs and the expected block bytes.
Writes tests/fixtures/quant_legacy/input.f32 (ROWS x 2048 float32, LE) and
<type>.blocks (ROWS rows of quantized blocks, back to back).
Run: .peers/bin/python scripts/gen_quant_fixtures_legacy.py
"""
import ctypes
import os
import numpy as np

import ggml_ref

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "quant_legacy")
N = 2048
# type name -> bytes per 32-value block
TYPES = {"q4_0": 18, "q4_1": 20, "q5_0": 22, "q5_1": 24, "q8_0": 34, "q8_1": 36, "iq4_nl": 18}


def make_rows(rng):
    i = np.arange(N, dtype=np.float32)
    synth = (0.1 + 2.0 * np.cos(i.astype(np.float64))).astype(np.float32)  # test-quantize-fns signal
    normal = rng.standard_normal(N).astype(np.float32)
    outlier = (0.1 * rng.standard_normal(N)).astype(np.float32)
    for b in range(N // 32):  # one large outlier per block, random sign and place
        outlier[b * 32 + rng.integers(32)] = rng.choice([-1.0, 1.0]) * rng.uniform(20, 60)
    zeros = rng.standard_normal(N).astype(np.float32)
    # not block 0: there ggml's IQ4_NL packs uninitialised stack bytes for a zero block
    zeros[32:64] = 0.0          # block 1: all zero
    zeros[64:96] = 0.75         # block 2: constant (max == min)
    zeros[96:128] = -0.0        # block 3: negative zeros
    tiny = (1e-6 * rng.standard_normal(N)).astype(np.float32)
    huge = rng.standard_normal(N).astype(np.float32)
    huge[rng.random(N) < 0.2] *= 1e4  # mixes ~1e4 and ~1 inside blocks
    ties = (0.25 * rng.integers(-20, 21, size=N)).astype(np.float32)  # exact half steps
    return np.stack([synth, normal, outlier, zeros, tiny, huge, ties]).astype(np.float32)


def main():
    lib = ggml_ref.load()
    rows = make_rows(np.random.default_rng(20240611))
    os.makedirs(OUT, exist_ok=True)
    rows.astype("<f4").tofile(os.path.join(OUT, "input.f32"))
    for name, bsize in TYPES.items():
        out = ggml_ref.quantize_rows_ref(lib, name, rows, 32, bsize)
        with open(os.path.join(OUT, name + ".blocks"), "wb") as f:
            f.write(out)
        print(name, len(out), "bytes")
    # IQ4_NL as llama-quantize writes it: quantize_iq4_nl (scale search, ntry 7),
    # not quantize_row_iq4_nl_ref. size_t quantize_iq4_nl(src, dst, nrows, n_per_row, imatrix)
    fn = lib.quantize_iq4_nl
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    fn.restype = ctypes.c_size_t
    src = np.ascontiguousarray(rows, dtype=np.float32)
    dst = (ctypes.c_uint8 * (len(rows) * N // 32 * 18))()
    fn(src.ctypes.data, ctypes.addressof(dst), len(rows), N, None)
    with open(os.path.join(OUT, "iq4_nl_search.blocks"), "wb") as f:
        f.write(bytes(dst))
    print("iq4_nl_search", len(dst), "bytes")


if __name__ == "__main__":
    main()
