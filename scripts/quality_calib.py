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
llama.cpp's side is its own llama_model_quantize (llama-cpp-python), given
the importance matrix the way llama-quantize --imatrix passes it; the matrix
itself is llama-imatrix's computation as `llmq imatrix` writes it. Results are cached in
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

# name, llmq quantize arguments, llama.cpp (ftype, pure[, token_embd type]) (None: llmq only), methods
ALL = ["rtn", "imatrix", "gptq", "awq", "hqq"]
# methods beyond --method NAME: column name -> llmq quantize arguments
VARIANTS = {"gptq-ao": ["--method", "gptq", "--act-order"]}
ENTRIES = [
    ("Q8_0", ["--type", "Q8_0"], (7, False), ["rtn", "imatrix", "gptq"]),
    ("Q4_K_M", ["--type", "Q4_K_M"], (15, False), ["rtn", "imatrix", "gptq", "awq"]),
    ("Q4_0", ["--type", "Q4_0"], (2, False), ["rtn", "imatrix", "gptq", "awq"]),
    ("IQ4_NL", ["--type", "IQ4_NL"], (25, False), ["rtn", "imatrix", "gptq", "awq"]),
    ("Q3_K_M", ["--type", "Q3_K_M"], (12, False), ["rtn", "imatrix", "gptq", "awq"]),
    ("Q2_K", ["--type", "Q2_K"], (10, False), ["rtn", "imatrix", "gptq", "awq"]),
    ("Q3_K pure", ["--type", "Q3_K_M", "--pure"], (12, True), ["rtn", "imatrix", "gptq", "gptq-ao", "awq"]),
    ("Q2_K pure", ["--type", "Q2_K", "--pure"], (10, True), ["rtn", "imatrix", "gptq", "gptq-ao", "awq"]),
    ("Q3_K pure + Q8_0 embedding", ["--type", "Q3_K_M", "--pure", "--tensor-type", "token_embd=Q8_0"],
     (12, True, 8), ["rtn", "imatrix", "gptq"]),
    ("I4_G64A", ["--type", "I4_G64A"], None, ALL),
    ("I4_G32S", ["--type", "I4_G32S"], None, ["rtn", "imatrix", "gptq", "awq"]),
    ("I3_G64A", ["--type", "I3_G64A"], None, ALL),
    ("I3_G128S", ["--type", "I3_G128S"], None, ["rtn", "imatrix", "gptq", "gptq-ao", "awq"]),
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
    """The importance matrix as llama-imatrix computes it, written by `llmq imatrix` in llama.cpp's GGUF
    imatrix format (same formula and chunking; checked against a numpy forward by
    scripts/check_imatrix_llamacpp.py), over the calibration text only."""
    path = f"models/quality/imatrix-valid-{a.calib_chunks}x512.gguf"
    if not os.path.exists(path):
        subprocess.run([a.llmq, "imatrix", a.f32, "-f", a.calib, "-o", path, "--chunks", str(a.calib_chunks),
                        "--ctx", "512", "-t", str(a.threads)], check=True, capture_output=True)
    return path


def llama_quantize(a, out, ftype, pure, imatrix_path, token_embd_type=None):
    """llama.cpp's own llama_model_quantize (through llama-cpp-python), with the importance matrix passed
    the way llama-quantize --imatrix passes it (name, per-column mean of x^2)."""
    import ctypes
    import gguf
    import llama_cpp as L
    qp = L.llama_model_quantize_default_params()
    qp.ftype, qp.pure, qp.allow_requantize, qp.nthread = ftype, pure, True, a.threads
    if token_embd_type is not None:
        qp.token_embedding_type = token_embd_type
    keep = []
    if imatrix_path:
        r = gguf.GGUFReader(imatrix_path)
        t = {x.name: x for x in r.tensors}
        names = sorted(n[:-len(".in_sum2")] for n in t if n.endswith(".in_sum2"))
        arr = (L.llama_model_imatrix_data * (len(names) + 1))()
        for i, n in enumerate(names):
            s2 = t[n + ".in_sum2"].data.astype("float32").ravel()
            cnt = t[n + ".counts"].data.astype("float32").ravel()
            v = (s2 / cnt[0]).astype("float32")
            keep += [v, n.encode()]
            arr[i].name, arr[i].data, arr[i].size = keep[-1], v.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), v.size
        arr[len(names)].name = None
        keep.append(arr)
        qp.imatrix = ctypes.cast(arr, ctypes.POINTER(L.llama_model_imatrix_data))
    if L.llama_model_quantize(a.f32.encode(), out.encode(), ctypes.byref(qp)) != 0:
        raise RuntimeError("llama_model_quantize failed")


def run_entry(a, R, name, args, lc_args, methods, save):
    slug = name.replace(" ", "-")
    row = R.setdefault(name, {})
    for m in methods:
        if m in row:
            continue
        out = f"models/quality/calib-{slug}-{m}.gguf"
        calib = [] if m in ("rtn", "hqq") else ["--calib", a.calib, "--calib-tokens", str(a.calib_chunks * 512)]
        t0 = time.perf_counter()
        q = subprocess.run([a.llmq, "quantize", a.f32, out, *args, *VARIANTS.get(m, ["--method", m]), *calib,
                            "-t", str(a.threads), "--json"], check=True, capture_output=True, text=True)
        tq = time.perf_counter() - t0
        qj = json.loads(q.stdout)
        row[m] = llmq_eval(a, out) | {"quantize_s": tq, "peak_rss_mib": qj["peak_rss_mib"],
                                      "fallback_tensors": qj["fallback_tensors"]}
        save()
        print(name, m, row[m], flush=True)
    if lc_args is None:
        return
    for key, im in (("llama.cpp", None), ("llama.cpp imatrix", llama_imatrix(a))):
        if key in row:
            continue
        out = f"models/quality/calib-{slug}-llamacpp{'-imatrix' if im else ''}.gguf"
        t0 = time.perf_counter()
        llama_quantize(a, out, lc_args[0], lc_args[1], im, *lc_args[2:])
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

    # --only also sets the order
    entries = [e for n in a.only.split(",") for e in ENTRIES if e[0] == n] if a.only else ENTRIES
    for e in entries:
        run_entry(a, R, *e, save)
    if a.write_doc:
        write_doc(R, a)
    return 0


def fmt(r):
    return f"{r['kld']:.4f} / {r['ppl']:.2f} / {100 * r['top1']:.1f}% ({r['bpw']:.2f})" if r else ""


NOTES_MARK = "<!-- hand-written notes below: kept when the table is rewritten -->"


def write_doc(R, a):
    cols = ALL[:3] + list(VARIANTS) + ALL[3:] + ["llama.cpp", "llama.cpp imatrix"]
    path = "docs/QUALITY-calibrated.md"
    old = open(path).read() if os.path.exists(path) else ""
    notes = old[old.index(NOTES_MARK):] if NOTES_MARK in old else ""
    with open(path, "w") as f:
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
        f.write("\nllmq's best against llama.cpp's best (KLD ratio, same types and file size; target <= 0.8 at "
                "4.5 bits per weight or less):\n\n")
        for name, *_ in ENTRIES:
            r = R.get(name, {})
            ours = [(r[c]["kld"], c) for c in ALL + list(VARIANTS) if c in r]
            theirs = [(r[c]["kld"], c) for c in ("llama.cpp", "llama.cpp imatrix") if c in r]
            if ours and theirs:
                (k1, m1), (k2, m2) = min(ours), min(theirs)
                f.write(f"- {name} ({r[m1]['bpw']:.2f} bpw): llmq {m1} {k1:.4f} / {m2} {k2:.4f} = {k1 / k2:.2f}x\n")
        if notes:
            f.write("\n" + notes)


if __name__ == "__main__":
    sys.exit(main())
