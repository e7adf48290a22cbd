#!/usr/bin/env python3
"""W8A8 quality table: SmolLM2 with activation quantization (dynamic and
static INT8 with every observer, SmoothQuant, LLM.int8 outliers) and, when
llmq supports it, the INT8 KV cache; PPL, KLD and top-1 against the float
model on wikitext-2 test (ctx 512, --chunks), calibration on wikitext-2 valid.
Results are cached in models/quality/w8a8.json; --write-doc writes
docs/QUALITY-w8a8.md. Run through scripts/quality_w8a8.sh.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_llamacpp as CL  # noqa: E402
import quality_calib as QC  # noqa: E402

# name, quantize arguments (None: the F32 file itself), perplexity arguments
ENTRIES = [
    ("float, KV f16", None, ["--kv-type", "f16"]),
    ("float, KV q8", None, ["--kv-type", "q8"]),
    ("dynamic-int8", ["--scheme", "dynamic-int8"], []),
    ("dynamic-int8, KV q8", ["--scheme", "dynamic-int8"], ["--kv-type", "q8"]),
    ("dynamic-int8 + LLM.int8 (6)", ["--scheme", "dynamic-int8", "--outlier-threshold", "6"], []),
    ("static-int8 minmax", ["--scheme", "static-int8", "--observer", "minmax", "CAL"], []),
    ("static-int8 ema", ["--scheme", "static-int8", "--observer", "ema", "CAL"], []),
    ("static-int8 percentile", ["--scheme", "static-int8", "--observer", "percentile", "CAL"], []),
    ("static-int8 mse", ["--scheme", "static-int8", "--observer", "mse", "CAL"], []),
    ("static-int8 kl", ["--scheme", "static-int8", "--observer", "kl", "CAL"], []),
    ("static-int8 minmax + SmoothQuant 0.5", ["--scheme", "static-int8", "--observer", "minmax", "--smooth", "0.5",
                                               "CAL"], []),
    ("static-int8 mse + SmoothQuant 0.5", ["--scheme", "static-int8", "--observer", "mse", "--smooth", "0.5", "CAL"],
     []),
    ("static-int8 percentile + SmoothQuant 0.5", ["--scheme", "static-int8", "--observer", "percentile", "--smooth",
                                                   "0.5", "CAL"], []),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llmq", default="build/bin/llmq")
    ap.add_argument("--f32", default=CL.DEFAULT_F32)
    ap.add_argument("--source", default=CL.DEFAULT_MODEL)
    ap.add_argument("--text", default=CL.DEFAULT_TEXT)
    ap.add_argument("--calib", default="../shared/data/wikitext-2/valid.txt")
    ap.add_argument("--calib-chunks", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="comma-separated entry names")
    ap.add_argument("--write-doc", action="store_true")
    a = ap.parse_args()
    CL.make_f32(a.source, a.f32)
    res_path = "models/quality/w8a8.json"
    res = json.load(open(res_path)) if os.path.exists(res_path) else {}
    R = res.setdefault(f"ctx{a.ctx}-chunks{a.chunks}-calib{a.calib_chunks}", {})
    cal = ["--calib", a.calib, "--calib-tokens", str(a.calib_chunks * 512)]
    for name, qargs, pargs in ENTRIES:
        if name in R or (a.only and name not in a.only.split(",")):
            continue
        path, tq = a.f32, 0.0
        if qargs is not None:
            path = "models/quality/w8a8-" + "".join(c if c.isalnum() else "-" for c in name) + ".gguf"
            args = sum(([x] if x != "CAL" else cal for x in qargs), [])
            t0 = time.perf_counter()
            r = subprocess.run([a.llmq, "quantize", a.f32, path, *args, "-t", str(a.threads)], capture_output=True,
                               text=True)
            tq = time.perf_counter() - t0
            if r.returncode != 0:
                print(name, "failed:", r.stderr.strip(), flush=True)
                continue
        try:
            R[name] = QC.llmq_eval(a, path, pargs) | {"quantize_s": tq}
        except subprocess.CalledProcessError as e:
            print(name, "evaluation failed:", e.stderr, flush=True)
            continue
        json.dump(res, open(res_path + ".tmp", "w"), indent=1)
        os.replace(res_path + ".tmp", res_path)
        print(name, R[name], flush=True)
    if a.write_doc:
        with open("docs/QUALITY-w8a8.md", "w") as f:
            f.write("# W8A8 and INT8 KV cache: SmolLM2-135M-Instruct on wikitext-2\n\n")
            f.write(__doc__.split("\n\n", 1)[0].replace("\n", " ") + "\n\n")
            f.write(f"Calibration (static scales, SmoothQuant): {a.calib_chunks} x 512 tokens of wikitext-2 valid. "
                    f"Evaluation: {a.chunks} chunks of {a.ctx} tokens of wikitext-2 test, against the F32 model "
                    "(KV cache F32). Weights of every W8A8 row: per-channel INT8 (I8_CH) for every matrix, the "
                    "tied embedding/output included.\n\n"
                    f"Command: `scripts/quality_w8a8.sh --calib-chunks {a.calib_chunks} --chunks {a.chunks} "
                    "--write-doc`.\n\n| configuration | size MB | PPL | KLD | top-1 |\n|---|---|---|---|---|\n")
            for name, *_ in ENTRIES:
                r = R.get(name)
                if r:
                    f.write(f"| {name} | {r['size'] / 1e6:.1f} | {r['ppl']:.4f} ± {r['ppl_err']:.4f} | "
                            f"{r['kld']:.5f} ± {r['kld_err']:.5f} | {100 * r['top1']:.2f}% |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
