#!/usr/bin/env python3
"""Reference fixtures for tests/unit/test_quantize_kquants.c.

Calls llama.cpp's own quantize_row_<type>_ref for the 256-value K-quant
types (libggml-base.so bundled with llama-cpp-python) through ctypes on a
handful of 2048-value rows and stores the inputs and the expected bytes.
Writes tests/fixtures/quant_kquants/input.f32 (ROWS x 2048 float32, LE) and
<type>.blocks (ROWS rows of quantized blocks, back to back). The destination
buffers start zeroed (ggml leaves Q8_K bsums unwritten for an all-zero block).
Run: .peers/bin/python scripts/gen_quant_fixtures_kquants.py
"""
import os
import numpy as np

import ggml_ref

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "quant_kquants")
N = 2048
QK_K = 256
# type name -> bytes per 256-value block
TYPES = {"q2_K": 84, "q3_K": 110, "q4_K": 144, "q5_K": 176, "q6_K": 210, "q8_K": 292}


def make_rows(rng):
    i = np.arange(N, dtype=np.float64)
    synth = (0.1 + 2.0 * np.cos(i)).astype(np.float32)        # test-quantize-fns signal
    synth2 = (0.1 + 2.0 * np.cos(i + 0.37)).astype(np.float32)  # same, other offset
    normal = rng.standard_normal(N).astype(np.float32)
    outlier = (0.1 * rng.standard_normal(N)).astype(np.float32)
    for b in range(N // 32):  # one large outlier per 32 values, random sign and place
        outlier[b * 32 + rng.integers(32)] = rng.choice([-1.0, 1.0]) * rng.uniform(20, 60)
    zeros = rng.standard_normal(N).astype(np.float32)
    zeros[256:512] = 0.0        # super-block 1: all zero
    zeros[512:768] = 0.75       # super-block 2: constant
    zeros[768:1024] = -0.0      # super-block 3: negative zeros
    zeros[1024 + 16:1024 + 48] = 0.0  # zero sub-blocks inside a normal super-block
    tiny = (1e-6 * rng.standard_normal(N)).astype(np.float32)
    huge = rng.standard_normal(N).astype(np.float32)
    huge[rng.random(N) < 0.2] *= 1e4  # mixes ~1e4 and ~1 inside blocks
    ties = (0.25 * rng.integers(-20, 21, size=N)).astype(np.float32)  # exact half steps
    return np.stack([synth, synth2, normal, outlier, zeros, tiny, huge, ties]).astype(np.float32)


def main():
    lib = ggml_ref.load()
    rows = make_rows(np.random.default_rng(20240612))
    os.makedirs(OUT, exist_ok=True)
    rows.astype("<f4").tofile(os.path.join(OUT, "input.f32"))
    for name, bsize in TYPES.items():
        out = ggml_ref.quantize_rows_ref(lib, name, rows, QK_K, bsize)
        with open(os.path.join(OUT, name.lower() + ".blocks"), "wb") as f:
            f.write(out)
        print(name, len(out), "bytes")


if __name__ == "__main__":
    main()
