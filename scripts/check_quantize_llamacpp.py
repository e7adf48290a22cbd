#!/usr/bin/env python3
"""Checks that `llmq quantize --type T` writes the same tensor bytes as
llama.cpp's llama-quantize --pure on the same F32 weights.

usage: .peers/bin/python scripts/check_quantize_llamacpp.py SOURCE_F32.gguf LLMQ_OUT.gguf FTYPE [--pure]
FTYPE is llama.cpp's llama_ftype number (7 Q8_0, 2 Q4_0, 3 Q4_1, 8 Q5_0, 9 Q5_1,
10 Q2_K, 11 Q3_K_S, 12 Q3_K_M, 13 Q3_K_L, 14 Q4_K_S, 15 Q4_K_M, 16 Q5_K_S,
17 Q5_K_M, 18 Q6_K, 21 Q2_K_S, 25 IQ4_NL, 1 F16, 32 BF16). Without --pure,
llama.cpp chooses per-tensor types by its mix (compare with `llmq quantize
--type NAME`); with --pure every matrix gets the ftype's base type
(`llmq quantize --type NAME --pure`).
Make SOURCE_F32.gguf with `scripts/compare_llamacpp.sh --f32 always` or
`llmq convert`.
"""
import ctypes
import os
import sys
import tempfile

import gguf
import llama_cpp
import numpy as np


def main():
    src, ours, ftype = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype, p.pure, p.allow_requantize, p.nthread = ftype, "--pure" in sys.argv[4:], True, 2
    with tempfile.TemporaryDirectory() as d:
        ref = os.path.join(d, "ref.gguf")
        rc = llama_cpp.llama_model_quantize(src.encode(), ref.encode(), ctypes.byref(p))
        if rc != 0:
            sys.exit(f"llama_model_quantize failed: {rc}")
        a, b = gguf.GGUFReader(ref), gguf.GGUFReader(ours)
        mine = {t.name: t for t in b.tensors}
        same, diff = 0, []
        for t in a.tensors:
            u = mine.get(t.name)
            if u is not None and t.tensor_type == u.tensor_type and np.array_equal(
                    np.asarray(t.data).view(np.uint8), np.asarray(u.data).view(np.uint8)):
                same += 1
            else:
                diff.append((t.name, t.tensor_type.name, u.tensor_type.name if u is not None else "missing"))
    print(f"llama.cpp {llama_cpp.__version__}, ftype {ftype}: {same} tensors identical, {len(diff)} different")
    for d in diff[:10]:
        print("  differs:", *d)
    sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
