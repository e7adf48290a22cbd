#!/usr/bin/env python3
"""Side-by-side comparison of llmq with llama.cpp (through llama-cpp-python).

Measures, on one GGUF file:
  1. perplexity computed the way llama.cpp's tools/perplexity/perplexity.cpp
     does (low-level API: one batch of n_ctx tokens per chunk, KV cache cleared
     between chunks, second half of each chunk scored, NLL summed in double);
  2. the same with `llmq perplexity --json`;
  3. greedy generation token ids from llama.cpp vs `llmq run --temp 0
     --print-tokens` (and, when they differ, on an F32 copy of the model so that
     llama.cpp's Q8_1 activation quantization in Q4_1 dot products is out of
     the picture);
  4. prompt / generation speed of both.
Prints a Markdown report; --write-doc also writes docs/COMPARE-llamacpp.md.

The llmq side may fail or be missing: the failure is reported and llama.cpp's
numbers are still shown. Run through scripts/compare_llamacpp.sh, which sets
up the .peers virtual environment.
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

import numpy as np
import llama_cpp as L

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = "models/SmolLM2-135M-Instruct-Q4_1.gguf"
DEFAULT_TEXT = "../shared/data/wikitext-2/test.txt"
DEFAULT_F32 = "models/SmolLM2-135M-Instruct-F32.gguf"
DEFAULT_PROMPTS = ["The capital of France is", "Once upon a time, there was a little robot who"]
LLAMA_FTYPE_ALL_F32 = 0
GGML_TYPE_F32, GGML_TYPE_F16 = 0, 1


# ---------------------------------------------------------------- llama.cpp side

@L.llama_log_callback
def _quiet_log(level, text, user_data):  # keeps llama.cpp / ggml logging off
    pass


class LlamaCpp:
    """One model loaded through llama.cpp's C API (CPU only)."""

    def __init__(self, path, threads, kv_type):
        L.llama_log_set(_quiet_log, ctypes.c_void_p(0))
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = 0
        self.model = L.llama_model_load_from_file(path.encode(), mp)
        if not self.model:
            raise RuntimeError(f"llama.cpp cannot load {path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.bos = L.llama_vocab_bos(self.vocab)
        self.eos = L.llama_vocab_eos(self.vocab)
        self.add_bos = bool(L.llama_vocab_get_add_bos(self.vocab))
        self.threads = threads
        self.kv_type = kv_type

    def close(self):
        L.llama_model_free(self.model)

    def context(self, n_ctx, n_batch):
        cp = L.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = n_ctx, n_batch, n_batch, 1
        cp.n_threads = cp.n_threads_batch = self.threads
        cp.type_k = cp.type_v = GGML_TYPE_F32 if self.kv_type == "f32" else GGML_TYPE_F16
        cp.no_perf = True
        ctx = L.llama_init_from_model(self.model, cp)
        if not ctx:
            raise RuntimeError("llama.cpp cannot create a context")
        return ctx

    def tokenize(self, text, add_special):
        """llama_tokenize(add_special, parse_special=False), as common_tokenize in perplexity.cpp."""
        raw = text.encode("utf-8")
        n = -L.llama_tokenize(self.vocab, raw, len(raw), None, 0, add_special, False)
        buf = (L.llama_token * max(n, 1))()
        got = L.llama_tokenize(self.vocab, raw, len(raw), buf, n, add_special, False)
        if got != n:
            raise RuntimeError(f"llama_tokenize returned {got}, expected {n}")
        return np.ctypeslib.as_array(buf)[:n].astype(np.int32).copy()

    def detokenize(self, toks):
        out = b""
        buf = ctypes.create_string_buffer(256)
        for t in toks:
            n = L.llama_token_to_piece(self.vocab, int(t), buf, 256, 0, False)
            out += buf.raw[:max(n, 0)]
        return out.decode("utf-8", errors="replace")


def fill_batch(batch, toks, pos0, want_logits):
    """Puts toks at positions pos0.. of sequence 0; want_logits(i) -> bool."""
    for i, t in enumerate(toks):
        batch.token[i] = int(t)
        batch.pos[i] = pos0 + i
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = 0
        batch.logits[i] = 1 if want_logits(i) else 0
    batch.n_tokens = len(toks)


def chunk_nll(rows, targets):
    """-log softmax(rows)[targets] per row, as perplexity.cpp's log_softmax:
    expf of (logit - max) in float, summed in double."""
    mx = rows.max(axis=1)
    sum_exp = np.exp(rows - mx[:, None]).sum(axis=1, dtype=np.float64)
    picked = (rows[np.arange(len(targets)), targets] - mx).astype(np.float64)
    return -(picked - np.log(sum_exp))


def llama_perplexity(lc, text, n_ctx, n_chunks, bos_mode):
    """perplexity() of llama.cpp's perplexity.cpp, n_seq = 1, n_batch = n_ctx."""
    t0 = time.perf_counter()
    add_bos = lc.add_bos or bos_mode == "always"
    toks = lc.tokenize(text, True)
    if add_bos and not lc.add_bos:  # forced: the tokenizer did not add it
        toks = np.concatenate([[lc.bos], toks]).astype(np.int32)
    t_tok = time.perf_counter() - t0
    if len(toks) < 2 * n_ctx:
        raise RuntimeError(f"text has {len(toks)} tokens, need at least {2 * n_ctx}")
    n_chunk = min(n_chunks, len(toks) // n_ctx) if n_chunks > 0 else len(toks) // n_ctx
    first = n_ctx // 2
    ctx = lc.context(n_ctx, n_ctx)
    batch = L.llama_batch_init(n_ctx, 0, 1)
    nll = nll2 = 0.0
    count = 0
    try:
        for i in range(n_chunk):
            start = i * n_ctx
            chunk = toks[start:start + n_ctx].copy()
            if add_bos:
                chunk[0] = lc.bos
            L.llama_memory_clear(L.llama_get_memory(ctx), True)
            fill_batch(batch, chunk, 0, lambda k: k >= first)
            if L.llama_decode(ctx, batch) != 0:
                raise RuntimeError(f"llama_decode failed on chunk {i}")
            ptr = L.llama_get_logits_ith(ctx, first)
            rows = np.ctypeslib.as_array(ptr, shape=(n_ctx - first, lc.n_vocab))[:n_ctx - 1 - first]
            v = chunk_nll(rows, toks[start + first + 1:start + n_ctx])
            nll += float(v.sum())
            nll2 += float((v * v).sum())
            count += n_ctx - first - 1
    finally:
        L.llama_batch_free(batch)
        L.llama_free(ctx)
    mean = nll / count
    ppl = float(np.exp(mean))
    var = nll2 / count - mean * mean
    err = ppl * np.sqrt(var / (count - 1)) if var > 0 else 0.0
    return {"ppl": ppl, "ppl_err": float(err), "nll": mean, "tokens": int(len(toks)), "chunks": n_chunk,
            "scored": count, "bos": add_bos, "seconds": time.perf_counter() - t0, "tokenize_seconds": t_tok}


def llama_generate(lc, ctx, prompt_toks, n_gen, timed=False):
    """Greedy (argmax) generation; stops at EOS like llmq run. Returns ids and
    (prompt seconds, generation seconds, decodes during generation)."""
    L.llama_memory_clear(L.llama_get_memory(ctx), True)
    batch = L.llama_batch_init(max(len(prompt_toks), 1), 0, 1)
    n_p = len(prompt_toks)
    try:
        fill_batch(batch, prompt_toks, 0, lambda k: k == n_p - 1)
        t0 = time.perf_counter()
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed on the prompt")
        L.llama_synchronize(ctx)
        t1 = time.perf_counter()
        out, n_dec, pos = [], 0, n_p
        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(lc.n_vocab,))
        while len(out) < n_gen:
            t = int(np.argmax(logits))
            if t == lc.eos:
                break
            out.append(t)
            if len(out) == n_gen and not timed:
                break
            fill_batch(batch, [t], pos, lambda k: True)
            if L.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed during generation")
            n_dec += 1
            pos += 1
            logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(lc.n_vocab,))
        L.llama_synchronize(ctx)
        t2 = time.perf_counter()
    finally:
        L.llama_batch_free(batch)
    return out, (t1 - t0, t2 - t1, n_dec)


def llama_greedy(lc, prompts, n_gen):
    ctx = lc.context(max(256, n_gen + 128), 256)
    try:
        res = []
        for p in prompts:
            ptoks = lc.tokenize(p, True)
            ids, _ = llama_generate(lc, ctx, ptoks, n_gen)
            res.append({"prompt": p, "prompt_tokens": [int(t) for t in ptoks], "ids": ids,
                        "text": lc.detokenize(ids)})
        return res
    finally:
        L.llama_free(ctx)


def speed_prompt(lc, text, n_prompt):
    """A prompt string that llama.cpp tokenizes to exactly (or nearly) n_prompt tokens."""
    toks = lc.tokenize(text[:n_prompt * 12], False)[:n_prompt]
    s = lc.detokenize(toks)
    return s, lc.tokenize(s, True)


def llama_speed(lc, ptoks, n_gen, reps):
    n_ctx = len(ptoks) + n_gen + 16
    ctx = lc.context(n_ctx, max(len(ptoks), 32))
    try:
        llama_generate(lc, ctx, ptoks[:32], 4, timed=True)  # warm-up
        pp, tg, ngen = [], [], []
        for _ in range(reps):
            ids, (tp, tgen, n_dec) = llama_generate(lc, ctx, ptoks, n_gen, timed=True)
            pp.append(len(ptoks) / tp)
            tg.append(n_dec / tgen if n_dec else 0.0)
            ngen.append(len(ids))
        return {"prompt_tokens": len(ptoks), "prompt_tps": statistics.median(pp), "gen_tokens": min(ngen),
                "gen_tps": statistics.median(tg), "prompt_all": pp, "gen_all": tg}
    finally:
        L.llama_free(ctx)


def make_f32(src, dst):
    if os.path.exists(dst):
        return "exists"
    qp = L.llama_model_quantize_default_params()
    qp.ftype = LLAMA_FTYPE_ALL_F32
    qp.allow_requantize = True  # dequantizes Q4_1 / Q8_0 tensors to F32
    qp.nthread = 2
    rc = L.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(qp))
    if rc != 0 or not os.path.exists(dst):
        raise RuntimeError(f"llama_model_quantize to F32 failed (rc={rc})")
    return "created"


# ---------------------------------------------------------------- llmq side

def run_llmq(cmd, timeout):
    """Returns (stdout, stderr, error-or-None)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace")
    except FileNotFoundError:
        return "", "", f"{cmd[0]} not found"
    except subprocess.TimeoutExpired:
        return "", "", f"timed out after {timeout} s"
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return p.stdout, p.stderr, f"exit status {p.returncode}: {tail}"
    return p.stdout, p.stderr, None


def llmq_perplexity(llmq, model, text, n_ctx, n_chunks, threads):
    cmd = [llmq, "perplexity", model, "-f", text, "--ctx", str(n_ctx), "--chunks", str(n_chunks),
           "-t", str(threads), "--json"]
    out, _, err = run_llmq(cmd, 1800)
    if err:
        return {"error": err, "cmd": cmd}
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            try:
                r = json.loads(line)
                r["cmd"] = cmd
                return r
            except json.JSONDecodeError:
                break
    return {"error": "no JSON object on stdout", "cmd": cmd}


SPEED_RE = re.compile(r"prompt\s*:?\s*(\d+)?\s*(?:tokens)?,?\s*([\d.]+)\s*tok/s.*?generation\s*:?\s*(\d+)?\s*(?:tokens)?,?"
                      r"\s*([\d.]+)\s*tok/s", re.S)


def llmq_run(llmq, model, prompt, n_gen, threads, print_tokens, kv_type=None):
    cmd = [llmq, "run", model, "-p", prompt, "-n", str(n_gen), "--temp", "0", "-t", str(threads)]
    if kv_type:
        cmd += ["--kv-type", kv_type]
    if print_tokens:
        cmd.append("--print-tokens")
    out, errtxt, err = run_llmq(cmd, 900)
    if err:
        return {"error": err}
    r = {}
    m = re.search(r"^\s*tokens:\s*([-\d ]*)$", errtxt + "\n" + out, re.M)
    if m:
        r["ids"] = [int(x) for x in m.group(1).split()]
    elif print_tokens:
        r["error"] = "no 'tokens:' line in the output"
    s = SPEED_RE.search(errtxt)
    if s:
        r.update(prompt_tokens=int(s.group(1)) if s.group(1) else None, prompt_tps=float(s.group(2)),
                 gen_tokens=int(s.group(3)) if s.group(3) else None, gen_tps=float(s.group(4)))
    r["text"] = out
    return r


def llmq_speed(llmq, model, prompt, n_gen, threads, reps, kv_type):
    """Both engines' speeds with the same KV cache type (llama.cpp's default is F16)."""
    runs = [llmq_run(llmq, model, prompt, n_gen, threads, False, kv_type) for _ in range(reps)]
    bad = [r["error"] for r in runs if "error" in r]
    if bad:
        return {"error": bad[0]}
    if any("prompt_tps" not in r for r in runs):
        return {"error": "no 'prompt ... tok/s ... generation ... tok/s' line on stderr"}
    return {"prompt_tokens": runs[0]["prompt_tokens"], "prompt_tps": statistics.median(r["prompt_tps"] for r in runs),
            "gen_tokens": runs[0]["gen_tokens"], "gen_tps": statistics.median(r["gen_tps"] for r in runs),
            "prompt_all": [r["prompt_tps"] for r in runs], "gen_all": [r["gen_tps"] for r in runs]}


def compare_ids(a, b):
    """Index of the first mismatch, or None when equal."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


# ---------------------------------------------------------------- driver

def greedy_section(lc, args, model, label):
    res = llama_greedy(lc, args.prompts, args.n_gen)
    for r in res:
        r["model"] = label
        if args.skip_llmq:
            r["llmq_error"] = "skipped (--skip-llmq)"
            continue
        q = llmq_run(args.llmq, model, r["prompt"], args.n_gen, args.threads, True)
        if "ids" in q:
            r["llmq_ids"] = q["ids"]
            r["first_mismatch"] = compare_ids(r["ids"], q["ids"])
        else:
            r["llmq_error"] = q.get("error", "no token ids")
    return res


def ppl_section(lc, args, model, label):
    print(f"[llama.cpp] perplexity on {label} ...", file=sys.stderr, flush=True)
    out = {"model": label, "llama": llama_perplexity(lc, open(args.text, encoding="utf-8").read(),
                                                     args.ctx, args.chunks, args.bos)}
    if args.skip_llmq:
        out["llmq"] = {"error": "skipped (--skip-llmq)"}
    else:
        print(f"[llmq] perplexity on {label} ...", file=sys.stderr, flush=True)
        out["llmq"] = llmq_perplexity(args.llmq, model, args.text, args.ctx, args.chunks, args.threads)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--threads", "-t", type=int, default=2)
    ap.add_argument("--llmq", default="build/bin/llmq")
    ap.add_argument("--prompt", dest="prompts", action="append", help="greedy prompt (repeatable)")
    ap.add_argument("--n-gen", type=int, default=32, help="greedy tokens to compare")
    ap.add_argument("--speed-prompt", type=int, default=512)
    ap.add_argument("--speed-gen", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--kv-type", choices=["f16", "f32"], default="f16",
                    help="llama.cpp KV cache type (f16 is llama.cpp's default); the speed runs give llmq the same")
    ap.add_argument("--bos", choices=["auto", "always"], default="auto",
                    help="auto: as llama-perplexity (BOS only if the vocab adds one); always: force it (llama.cpp side)")
    ap.add_argument("--f32", choices=["auto", "always", "never"], default="auto",
                    help="also compare on an F32 copy: auto = when the greedy ids differ or llmq failed")
    ap.add_argument("--f32-model", default=DEFAULT_F32)
    ap.add_argument("--f32-ppl", action="store_true", help="also compute perplexity on the F32 copy")
    ap.add_argument("--skip", action="append", default=[], choices=["ppl", "greedy", "speed"])
    ap.add_argument("--skip-llmq", action="store_true")
    ap.add_argument("--json-out", help="write all results as JSON")
    ap.add_argument("--write-doc", action="store_true", help="write docs/COMPARE-llamacpp.md")
    ap.add_argument("--from-json", help="only render the report of a --json-out file (no runs)")
    args = ap.parse_args()
    args.prompts = args.prompts or DEFAULT_PROMPTS
    os.chdir(REPO)
    if args.from_json:
        with open(args.from_json) as f:
            res = json.load(f)
        return emit(report(res), args)
    res = {"env": environment(args), "args": vars(args).copy()}

    lc = LlamaCpp(args.model, args.threads, args.kv_type)
    res["add_bos"] = lc.add_bos
    if "ppl" not in args.skip:
        res["ppl"] = [ppl_section(lc, args, args.model, os.path.basename(args.model))]
    if "greedy" not in args.skip:
        print("[both] greedy generation ...", file=sys.stderr, flush=True)
        res["greedy"] = greedy_section(lc, args, args.model, os.path.basename(args.model))
    if "speed" not in args.skip:
        print("[both] speed ...", file=sys.stderr, flush=True)
        prompt, ptoks = speed_prompt(lc, open(args.text, encoding="utf-8").read(), args.speed_prompt)
        res["speed"] = {"llama": llama_speed(lc, ptoks, args.speed_gen, args.reps),
                        "llmq": ({"error": "skipped (--skip-llmq)"} if args.skip_llmq else
                                 llmq_speed(args.llmq, args.model, prompt, args.speed_gen, args.threads, args.reps,
                                            args.kv_type))}
    lc.close()

    want_f32 = args.f32 == "always" or (args.f32 == "auto" and "greedy" in res and any(
        r.get("first_mismatch") is not None or "llmq_error" in r for r in res["greedy"]))
    if want_f32:
        print(f"[llama.cpp] F32 copy {args.f32_model} ...", file=sys.stderr, flush=True)
        try:
            res["f32_status"] = make_f32(args.model, args.f32_model)
            lf = LlamaCpp(args.f32_model, args.threads, args.kv_type)
            res["greedy"] += greedy_section(lf, args, args.f32_model, os.path.basename(args.f32_model))
            if args.f32_ppl and "ppl" in res:
                res["ppl"].append(ppl_section(lf, args, args.f32_model, os.path.basename(args.f32_model)))
            lf.close()
        except RuntimeError as ex:
            res["f32_status"] = f"failed: {ex}"

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(res, f, indent=1, default=str)
    emit(report(res), args)


def emit(md, args):
    print(md)
    if args.write_doc:
        os.makedirs("docs", exist_ok=True)
        with open("docs/COMPARE-llamacpp.md", "w") as f:
            f.write(md)
        print("wrote docs/COMPARE-llamacpp.md", file=sys.stderr)


def environment(args):
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    cmdline = "scripts/compare_llamacpp.sh " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return {"llama_cpp_python": L.__version__, "system_info": L.llama_print_system_info().decode().strip(),
            "cpu": cpu, "nproc": os.cpu_count(), "threads": args.threads, "python": platform.python_version(),
            "numpy": np.__version__, "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "command": cmdline}


# ---------------------------------------------------------------- report

def fmt(v, spec=".4f"):
    return "–" if v is None else format(v, spec)


def report(res):
    env = res["env"]
    a = res["args"]
    out = ["# llmq vs llama.cpp", "",
           "Generated by `scripts/compare_llamacpp.py`; llama.cpp is driven through llama-cpp-python's "
           "low-level C API (CPU only).", "",
           f"- Command: `{env['command']}`",
           f"- Date: {env['date']}; machine: {env['cpu']} ({env['nproc']} logical CPUs), threads: {env['threads']}",
           f"- llama-cpp-python {env['llama_cpp_python']}; llama.cpp system info: `{env['system_info']}`",
           f"- Model: `{a['model']}`; text: `{a['text']}`; llama.cpp KV cache: {a['kv_type']}", ""]
    if "ppl" in res:
        out += ppl_report(res, a)
    if "greedy" in res:
        out += greedy_report(res, a)
    if "speed" in res:
        out += speed_report(res["speed"], a)
    out += notes(res)
    return "\n".join(out) + "\n"


def ppl_report(res, a):
    out = [f"## Perplexity (ctx {a['ctx']}, chunks {a['chunks']})", "",
           "| model | engine | PPL | ± | text tokens | scored | BOS per chunk | seconds |",
           "|---|---|---:|---:|---:|---:|---|---:|"]
    diffs = []
    for s in res["ppl"]:
        lp, qp = s["llama"], s["llmq"]
        out.append(f"| {s['model']} | llama.cpp | {lp['ppl']:.4f} | {lp['ppl_err']:.4f} | {lp['tokens']} | "
                   f"{lp['scored']} | {'yes' if lp['bos'] else 'no'} | {lp['seconds']:.1f} |")
        if "error" in qp:
            out.append(f"| {s['model']} | llmq | failed: {qp['error']} | | | | | |")
            continue
        out.append(f"| {s['model']} | llmq | {qp['ppl']:.4f} | {qp.get('ppl_err', 0):.4f} | {qp.get('tokens', '–')} | "
                   f"{qp.get('scored', '–')} | | {qp.get('seconds', 0):.1f} |")
        d = 100.0 * (qp["ppl"] / lp["ppl"] - 1.0)
        diffs.append(f"- {s['model']}: llmq / llama.cpp = {qp['ppl'] / lp['ppl']:.5f} ({d:+.3f} %)"
                     + ("" if qp.get("tokens") == lp["tokens"] else
                        f"; token counts differ ({qp.get('tokens')} vs {lp['tokens']}): the tokenizers disagree"))
    runs = res["ppl"]
    if len(runs) == 2 and "error" not in runs[0]["llmq"]:
        r = runs[0]["llmq"]["ppl"] / runs[1]["llama"]["ppl"]
        diffs.append(f"- cross: llmq on {runs[0]['model']} / llama.cpp on {runs[1]['model']} = {r:.5f} "
                     f"({100 * (r - 1):+.3f} %)")
    return out + [""] + diffs + [""]


def greedy_report(res, a):
    out = [f"## Greedy generation ({a['n_gen']} tokens, argmax, stop at EOS)", "",
           "| model | prompt | first mismatch | llama.cpp ids | llmq ids |", "|---|---|---|---|---|"]
    texts = []
    for r in res["greedy"]:
        if "llmq_error" in r:
            verdict, q = f"llmq failed: {r['llmq_error']}", "–"
        else:
            fm = r["first_mismatch"]
            verdict = "none (identical)" if fm is None else f"index {fm}"
            q = " ".join(map(str, r["llmq_ids"]))
        out.append(f"| {r['model']} | {r['prompt']!r} | {verdict} | {' '.join(map(str, r['ids']))} | {q} |")
        texts.append(f"- {r['model']}, {r['prompt']!r} → llama.cpp: {r['text']!r}")
    by = {}
    for r in res["greedy"]:
        by.setdefault(r["prompt"], []).append(r)
    for p, rs in by.items():
        if len(rs) == 2 and "llmq_ids" in rs[0]:
            fm = compare_ids(rs[1]["ids"], rs[0]["llmq_ids"])
            texts.append(f"- cross: llmq on {rs[0]['model']} vs llama.cpp on {rs[1]['model']}, {p!r}: "
                         + ("identical" if fm is None else f"first mismatch at index {fm}"))
    if "f32_status" in res:
        texts.append(f"- F32 copy `{a['f32_model']}`: {res['f32_status']}")
    return out + [""] + texts + [""]


def speed_report(sp, a):
    out = [f"## Speed ({a['threads']} threads, median of {a['reps']}, KV cache {a['kv_type']} in both)", "",
           "| engine | prompt tokens | prompt tok/s | generated tokens | generation tok/s |", "|---|---:|---:|---:|---:|"]
    for name, key in (("llama.cpp", "llama"), ("llmq", "llmq")):
        s = sp[key]
        if "error" in s:
            out.append(f"| {name} | failed: {s['error']} | | | |")
        else:
            out.append(f"| {name} | {s['prompt_tokens']} | {s['prompt_tps']:.1f} | {s['gen_tokens']} | "
                       f"{s['gen_tps']:.1f} |")
    if "error" not in sp["llmq"] and "error" not in sp["llama"]:
        out += ["", f"llmq / llama.cpp: prompt {sp['llmq']['prompt_tps'] / sp['llama']['prompt_tps']:.2f}x, "
                    f"generation {sp['llmq']['gen_tps'] / sp['llama']['gen_tps']:.2f}x"]
    out += ["", "All runs: " + "; ".join(
        f"{k} prompt {', '.join(f'{x:.1f}' for x in sp[k]['prompt_all'])} / generation "
        f"{', '.join(f'{x:.1f}' for x in sp[k]['gen_all'])}" for k in ("llama", "llmq") if "prompt_all" in sp[k]), ""]
    return out


def notes(res):
    bos = "adds" if res.get("add_bos") else "does not add"
    return ["## Method and caveats", "",
            f"- Perplexity follows `perplexity()` in llama.cpp's tools/perplexity/perplexity.cpp: the whole text is "
            f"tokenized with add_special=true, parse_special=false; this model's vocabulary {bos} BOS "
            f"(tokenizer.ggml.add_bos_token), so BOS is {'' if res.get('add_bos') else 'neither prepended nor '}"
            f"written over the first token of each chunk{'' if res.get('add_bos') else ' (use --bos always to force it)'}; "
            "chunks of n_ctx tokens are decoded in one batch with the KV cache cleared between chunks; logits "
            "at positions n_ctx/2 .. n_ctx-2 predict the next token; NLL and NLL² are summed in double and the "
            "error is PPL·sqrt(var/(count-1)).",
            "- llama.cpp stores the KV cache in F16 by default and, for Q4_1 weights, quantizes the activations "
            "to Q8_1 before the dot products; llmq keeps F32 activations. So on the Q4_1 file a PPL difference "
            "of a fraction of a percent and early greedy divergences are expected from this alone (this 135M "
            "model is very sensitive: llama.cpp's own Q4_1 and F32 runs diverge after ~5 tokens). The F32 copy "
            "(the same weights dequantized with llama_model_quantize, ftype ALL_F32) takes that out: only the "
            "F16 KV cache and summation order remain (`--kv-type f32` removes the former). The 'cross' lines "
            "compare llmq on the quantized file with llama.cpp on the F32 copy, which is the like-for-like "
            "arithmetic when llmq dequantizes weights exactly and keeps F32 activations.",
            "- Paths (--model, --text, --llmq) are relative to the repository root.",
            "- Speeds: llama.cpp decodes the prompt in one batch and then generates greedily one token per "
            "decode; llmq numbers come from the stderr line of `llmq run` (a fresh process each run, so it "
            "includes first-touch page faults of the mmapped weights; llama.cpp gets one warm-up). On a "
            "shared 2-core machine these numbers are noisy.", ""]


if __name__ == "__main__":
    main()
