#!/usr/bin/env python3
"""Reference dequantization fixtures for tests/unit/test_dequant.c.

For each GGML type: 8 blocks of random bytes whose fp16 scale fields are set
to finite values, and the floats gguf-py's numpy dequantizer (an independent
implementation of ggml's formats) produces for them.
Writes tests/fixtures/dequant/<TYPE>.blocks and <TYPE>.f32.
Run: .peers/bin/python scripts/gen_dequant_fixtures.py
"""
import os
import numpy as np
from gguf import GGMLQuantizationType as Q, quants
from gguf.constants import GGML_QUANT_SIZES

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "dequant")
# byte offsets of fp16 fields inside one block
FP16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0],
}

def main():
    rng = np.random.default_rng(1234)
    os.makedirs(OUT, exist_ok=True)
    names = list(FP16_FIELDS) + ["F16", "BF16", "MXFP4"]
    for name in names:
        qt = Q[name]
        bs, ts = GGML_QUANT_SIZES[qt]
        nblk = 8 if bs > 1 else 256
        raw = rng.integers(0, 256, size=(nblk, ts), dtype=np.uint8)
        if name == "F16":
            raw = rng.standard_normal(nblk).astype(np.float16).view(np.uint8).reshape(nblk, ts)
        elif name == "BF16":
            f = rng.standard_normal(nblk).astype(np.float32).view(np.uint32)
            raw = (f >> 16).astype(np.uint16).view(np.uint8).reshape(nblk, ts)
        elif name == "MXFP4":
            raw[:, 0] = rng.integers(100, 150, size=nblk)  # E8M0 exponents near 1.0
        for off in FP16_FIELDS.get(name, []):
            scale = (rng.standard_normal(nblk) * 0.05).astype(np.float16)
            raw[:, off:off + 2] = scale.view(np.uint8).reshape(nblk, 2)
        ref = quants.dequantize(raw.reshape(-1), qt).astype(np.float32).reshape(-1)
        assert ref.size == nblk * bs, (name, ref.size)
        raw.tofile(os.path.join(OUT, f"{name}.blocks"))
        ref.tofile(os.path.join(OUT, f"{name}.f32"))
        print(name, nblk, "blocks")

if __name__ == "__main__":
    main()
