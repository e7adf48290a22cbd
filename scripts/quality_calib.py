#!/usr/bin/env python3
"""Calibrated quantization table: llmq's methods (rtn, imatrix, gptq, awq,
hqq) on SmolLM2 at several sizes, beside llama.cpp's llama-quantize with and
without its own importance matrix (llama-imatrix) on the same F32 source.

Calibration: wikitext-2 *valid* (never the test set). Evaluation: wikitext-2
test, ctx 512, --chunks chunks, PPL, mean KLD and top-1 against the float
model. Every file, llama.cpp's included, is evaluated by the same engine
(`llmq perplexity` with the float model's cached logits), so the columns
differ only by the weights. llama.cpp's files without imatrix are checked to
hold the same tensors as llmq's rtn files (then they share the rtn row).
llama-imatrix and llama-quantize are built from the llama.cpp source that
llama-cpp-python bundles (scripts/peers_tools.sh). Results are cached in
models/quality/calib.json (an interrupted run resumes); --write-doc writes
docs/QUALITY-calibrated.md. Run through scripts/quality_calib.sh.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_llamacpp as CL  # noqa: E402
import quality_table as QT  # noqa: E402

# name, llmq quantize arguments, llama-quantize type (None: llmq only), methods
ALL = ["rtn", "imatrix", "gptq", "awq", "hqq"]
ENTRIES = [
    ("Q8_0", ["--type", "Q8_0"], ["Q8_0"], ["rtn", "imatrix", "gptq"]),
    ("Q4_K_M", ["--type", "Q4_K_M"], ["Q4_K_M"], ["rtn", "imatrix", "gptq", "awq"]),
    ("Q4_0", ["--type", "Q4_0"], ["Q4_0"], ["rtn", "imatrix", "gptq", "awq"]),
    ("IQ4_NL", ["--type", "IQ4_NL"], ["IQ4_NL"], ["rtn", "imatrix", "gptq", "awq"]),
    ("Q3_K_M", ["--type", "Q3_K_M"], ["Q3_K_M"], ["rtn", "imatrix", "gptq", "awq"]),
    ("Q2_K", ["--type", "Q2_K"], ["Q2_K"], ["rtn", "imatrix", "gptq", "awq"]),
    ("Q3_K pure", ["--type", "Q3_K_M", "--pure"], ["--pure", "Q3_K_M"], ["rtn", "imatrix", "gptq", "awq"]),
    ("Q2_K pure", ["--type", "Q2_K", "--pure"], ["--pure", "Q2_K"], ["rtn", "imatrix", "gptq", "awq"]),
    ("I4_G64A", ["--type", "I4_G64A"], None, ALL),
    ("I4_G32S", ["--type", "I4_G32S"], None, ["rtn", "imatrix", "gptq", "awq"]),
    ("I3_G64A", ["--type", "I3_G64A"], None, ALL),
    ("I2_G64A", ["--type", "I2_G64A"], None, ALL),
]


def llmq_eval(a, path, extra=()):
    blog = f"models/quality/base-ctx{a.ctx}-chunks{a.chunks}.logits"
    base = [] if os.path.exists(blog) else ["--kld-base", a.f32]
    p = subprocess.run([a.llmq, "perplexity", path, "-f", a.text, "--ctx", str(a.ctx), "--chunks", str(a.chunks),
                        *base, "--kld-base-logits", blog, "-t", str(a.threads), "--json", *extra],
                       check=True, capture_output=True, text=True)
    j = json.loads(p.stdout)
    return {k: j[k] for k in ("ppl", "ppl_err", "kld", "kld_err", "top1", "base_ppl")} | {
        "size": os.path.getsize(path), "bpw": QT.gguf_bpw(path, a.llmq)}


def llama_imatrix(a):
    path = f"models/quality/llamacpp-imatrix-valid-{a.calib_chunks}x512.gguf"
    if not os.path.exists(path):
        t0 = time.perf_counter()
        subprocess.run([f"{a.tools}/llama-imatrix", "-m", a.f32, "-f", a.calib, "-o", path, "--chunks",
                        str(a.calib_chunks), "-c", "512", "-t", str(a.threads)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"llama-imatrix: {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def run_entry(a, R, name, args, lc_args, methods, save):
    slug = name.replace(" ", "-")
    row = R.setdefault(name, {})
    for m in methods:
        if m in row:
            continue
        out = f"models/quality/calib-{slug}-{m}.gguf"
        calib = [] if m in ("rtn", "hqq") else ["--calib", a.calib, "--calib-tokens", str(a.calib_chunks * 512)]
        t0 = time.perf_counter()
        q = subprocess.run([a.llmq, "quantize", a.f32, out, *args, "--method", m, *calib, "-t", str(a.threads),
                            "--json"], check=True, capture_output=True, text=True)
        tq = time.perf_counter() - t0
        qj = json.loads(q.stdout)
        row[m] = llmq_eval(a, out) | {"quantize_s": tq, "peak_rss_mib": qj["peak_rss_mib"],
                                      "fallback_tensors": qj["fallback_tensors"]}
        save()
        print(name, m, row[m], flush=True)
    if lc_args is None:
        return
    for key, im in (("llama.cpp", []), ("llama.cpp imatrix", ["--imatrix", llama_imatrix(a)])):
        if key in row:
            continue
        out = f"models/quality/calib-{slug}-llamacpp{'-imatrix' if im else ''}.gguf"
        t0 = time.perf_counter()
        subprocess.run([f"{a.tools}/llama-quantize", *im, "--allow-requantize", *lc_args[:-1], a.f32, out,
                        lc_args[-1], str(a.threads)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        tq = time.perf_counter() - t0
        rtn = f"models/quality/calib-{slug}-rtn.gguf"
        same = not im and os.path.exists(rtn) and QT.same_tensors(out, rtn)
        row[key] = (dict(row["rtn"]) if same else llmq_eval(a, out)) | {"quantize_s": tq, "same_as_rtn": same}
        save()
        print(name, key, row[key], flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llmq", default="build/bin/llmq")
    ap.add_argument("--f32", default=CL.DEFAULT_F32)
    ap.add_argument("--source", default=CL.DEFAULT_MODEL)
    ap.add_argument("--text", default=CL.DEFAULT_TEXT)
    ap.add_argument("--calib", default="../shared/data/wikitext-2/valid.txt")
    ap.add_argument("--calib-chunks", type=int, default=32, help="calibration sequences of 512 tokens")
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tools", default=".peers/tools")
    ap.add_argument("--only", help="comma-separated entry names")
    ap.add_argument("--write-doc", action="store_true")
    a = ap.parse_args()
    os.makedirs("models/quality", exist_ok=True)
    CL.make_f32(a.source, a.f32)
    res_path = "models/quality/calib.json"
    res = json.load(open(res_path)) if os.path.exists(res_path) else {}
    R = res.setdefault(f"ctx{a.ctx}-chunks{a.chunks}-calib{a.calib_chunks}", {})

    def save():
        json.dump(res, open(res_path + ".tmp", "w"), indent=1)
        os.replace(res_path + ".tmp", res_path)

    entries = [e for e in ENTRIES if not a.only or e[0] in a.only.split(",")]
    for e in entries:
        run_entry(a, R, *e, save)
    if a.write_doc:
        write_doc(R, a)
    return 0


def fmt(r):
    return f"{r['kld']:.4f} / {r['ppl']:.2f} / {100 * r['top1']:.1f}% ({r['bpw']:.2f})" if r else ""


def write_doc(R, a):
    cols = ALL + ["llama.cpp", "llama.cpp imatrix"]
    with open("docs/QUALITY-calibrated.md", "w") as f:
        f.write("# Calibrated quantization: SmolLM2-135M-Instruct on wikitext-2\n\n")
        f.write(__doc__.split("\n\n", 1)[1].replace("\n", " ").strip() + "\n\n")
        f.write(f"Calibration: {a.calib_chunks} x 512 tokens of wikitext-2 valid (llmq --calib and llama-imatrix "
                f"alike). Evaluation: {a.chunks} chunks of ctx {a.ctx} of wikitext-2 test.\n\n"
                f"Command: `scripts/quality_calib.sh --calib-chunks {a.calib_chunks} --chunks {a.chunks} "
                "--write-doc`.\n\nEach cell: mean KLD / PPL / top-1 (bits per weight of the 2-D tensors). "
                "Best KLD of a row in bold.\n\n")
        f.write("| size | " + " | ".join(cols) + " |\n|" + "---|" * (len(cols) + 1) + "\n")
        for name, *_ in ENTRIES:
            r = R.get(name)
            if not r:
                continue
            best = min((r[c]["kld"] for c in cols if c in r), default=None)
            cells = [(f"**{fmt(r[c])}**" if r[c]["kld"] == best else fmt(r[c])) if c in r else "" for c in cols]
            f.write(f"| {name} | " + " | ".join(cells) + " |\n")


if __name__ == "__main__":
    sys.exit(main())
