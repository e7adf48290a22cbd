#!/usr/bin/env python3
"""GEMV throughput of llmq and llama.cpp (ggml) side by side, per format.

For each type and thread count, in one run: `llmq bench` on a rows x cols
matrix (its read-bandwidth figure included), then ggml's mul_mat of the same
shape (weights quantized by ggml_quantize_chunk, one F32 activation row that
ggml quantizes as it does in generation), timed with ggml_graph_compute,
median of reps. Run through scripts/compare_gemv_llamacpp.sh (sets up .peers).
"""
import argparse
import ctypes as C
import glob
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

GGML_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q2_K": 10,
              "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "IQ4_NL": 20, "BF16": 30, "MXFP4": 39}


class InitParams(C.Structure):
    _fields_ = [("mem_size", C.c_size_t), ("mem_buffer", C.c_void_p), ("no_alloc", C.c_bool)]


def load_ggml():
    import llama_cpp
    libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    base = C.CDLL(glob.glob(os.path.join(libdir, "libggml-base.so*"))[0], mode=C.RTLD_GLOBAL)
    cpu = C.CDLL(glob.glob(os.path.join(libdir, "libggml-cpu.so*"))[0], mode=C.RTLD_GLOBAL)
    base.ggml_init.restype = C.c_void_p
    base.ggml_init.argtypes = [InitParams]
    base.ggml_new_tensor_2d.restype = C.c_void_p
    base.ggml_new_tensor_2d.argtypes = [C.c_void_p, C.c_int, C.c_int64, C.c_int64]
    base.ggml_mul_mat.restype = C.c_void_p
    base.ggml_mul_mat.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p]
    base.ggml_new_graph.restype = C.c_void_p
    base.ggml_new_graph.argtypes = [C.c_void_p]
    base.ggml_build_forward_expand.argtypes = [C.c_void_p, C.c_void_p]
    base.ggml_get_data.restype = C.c_void_p
    base.ggml_get_data.argtypes = [C.c_void_p]
    base.ggml_nbytes.restype = C.c_size_t
    base.ggml_nbytes.argtypes = [C.c_void_p]
    base.ggml_free.argtypes = [C.c_void_p]
    base.ggml_quantize_chunk.restype = C.c_size_t
    base.ggml_quantize_chunk.argtypes = [C.c_int, C.c_void_p, C.c_void_p, C.c_int64, C.c_int64, C.c_int64,
                                         C.c_void_p]
    cpu.ggml_cpu_init.argtypes = []
    cpu.ggml_graph_compute_with_ctx.restype = C.c_int
    cpu.ggml_graph_compute_with_ctx.argtypes = [C.c_void_p, C.c_void_p, C.c_int]
    cpu.ggml_cpu_init()
    return base, cpu


def weights(rows, cols):
    rng = np.random.default_rng(1)
    w = (rng.random((rows, cols), dtype=np.float32) - 0.5) * 0.1
    w.ravel()[::997] *= 80
    return np.ascontiguousarray(w)


def ggml_gemv(base, cpu, tname, w, threads, reps):
    rows, cols = w.shape
    t = GGML_TYPES[tname]
    ctx = base.ggml_init(InitParams(w.nbytes + (256 << 20), None, False))
    W = base.ggml_new_tensor_2d(ctx, t, cols, rows)
    x = base.ggml_new_tensor_2d(ctx, 0, cols, 1)
    if t == 0:
        C.memmove(base.ggml_get_data(W), w.ctypes.data, w.nbytes)
    else:
        base.ggml_quantize_chunk(t, w.ctypes.data, base.ggml_get_data(W), 0, rows, cols, None)
    xs = np.sin(0.37 * np.arange(cols, dtype=np.float32)).astype(np.float32)
    C.memmove(base.ggml_get_data(x), xs.ctypes.data, xs.nbytes)
    y = base.ggml_mul_mat(ctx, W, x)
    g = base.ggml_new_graph(ctx)
    base.ggml_build_forward_expand(g, y)
    cpu.ggml_graph_compute_with_ctx(ctx, g, threads)  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        cpu.ggml_graph_compute_with_ctx(ctx, g, threads)
        ts.append(time.perf_counter() - t0)
    nbytes = base.ggml_nbytes(W)
    base.ggml_free(ctx)
    med = statistics.median(ts)
    return rows * cols / med / 1e9, nbytes / med / 1e9


LINE = re.compile(r"^(\S+)\s+(large|cached)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)%")


def llmq_gemv(llmq, tname, rows, cols, threads, reps):
    out = subprocess.run([llmq, "bench", "--types", tname, "-t", str(threads), "--reps", str(reps), "--rows",
                          str(rows), "--cols", str(cols)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = LINE.match(line)
        if m and m.group(2) == "large":
            return float(m.group(6)), float(m.group(7)), float(m.group(8)), "no kernel" in line
    raise RuntimeError("cannot parse llmq bench output:\n" + out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llmq", default="build/bin/llmq")
    ap.add_argument("--types", default="F16,BF16,Q8_0,Q6_K,Q5_K,Q5_1,Q5_0,Q4_K,Q4_1,Q4_0,IQ4_NL,MXFP4,Q3_K,Q2_K")
    ap.add_argument("--rows", type=int, default=16384)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every type this many times (interleaved) and report medians over the rounds")
    ap.add_argument("--write-doc", metavar="FILE", help="also write the table as markdown to FILE")
    a = ap.parse_args()
    import llama_cpp
    base, cpu = load_ggml()
    w = weights(a.rows, a.cols)
    rows_out = []
    for th in [int(t) for t in a.threads.split(",")]:
        runs = {t: [] for t in a.types.split(",")}
        for rnd in range(a.rounds):
            for tname in runs:
                lw, lb, bw, fallback = llmq_gemv(a.llmq, tname, a.rows, a.cols, th, a.reps)
                gw, gb = ggml_gemv(base, cpu, tname, w, th, a.reps)
                runs[tname].append((lw, lb, gw, gb, bw, fallback))
                if a.rounds > 1:
                    print("  round %d: %d thr %-7s llmq %6.2f Gw/s  llama.cpp %6.2f Gw/s  %.2fx  [read bw %.1f GB/s]"
                          % (rnd + 1, th, tname, lw, gw, lw / gw, bw), flush=True)
        for tname, rr in runs.items():
            med = lambda k: statistics.median(x[k] for x in rr)
            lw, lb, gw, gb, bw = (med(k) for k in range(5))
            ratio = statistics.median(x[0] / x[2] for x in rr)
            # shares of the read bandwidth: medians of the per-round shares (each
            # against the bandwidth llmq's bench measured in that round)
            lpct = statistics.median(100 * x[1] / x[4] for x in rr)
            gpct = statistics.median(100 * x[3] / x[4] for x in rr)
            r = (th, tname, lw, lb, lpct, gw, gb, gpct, ratio, bw, any(x[5] for x in rr))
            rows_out.append(r)
            print("%d thr %-7s llmq %6.2f Gw/s %5.1f GB/s (%3.0f%%)   llama.cpp %6.2f Gw/s %5.1f GB/s (%3.0f%%)   "
                  "%.2fx   [read bw %.1f GB/s]%s" % (r[:10] + (" llmq: no kernel" if r[10] else "",)), flush=True)
    if a.write_doc:
        cpuname = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        with open(a.write_doc, "w") as f:
            f.write("# GEMV throughput: llmq and llama.cpp side by side\n\n")
            f.write("Matrix %d x %d, one activation row, median of %d calls per measurement; "
                    "each measurement ran llmq's `bench` then ggml's `mul_mat` back to back, %d round(s) over all "
                    "types, and the table gives the medians over the rounds (the ratio and the shares of the read "
                    "bandwidth are medians of the per-round figures). The read bandwidth is llmq's 1 GiB read-sum measured in the same `bench` "
                    "call. Where the CPU's last-level cache is larger than the matrix, a kernel can beat that "
                    "DRAM figure (over 100%%).\n\n"
                    % (a.rows, a.cols, a.reps, a.rounds))
            f.write("Machine: %s, %d cores, %s; llama.cpp from llama-cpp-python %s (GGML_NATIVE). Command: "
                    "`scripts/compare_gemv_llamacpp.sh --threads %s --rounds %d --write-doc FILE`. The machine is shared: "
                    "figures move by 20-50%% from run to run, the read bandwidth with them; compare within a row.\n\n"
                    % (cpuname, os.cpu_count(), time.strftime("%Y-%m-%d"), llama_cpp.__version__, a.threads, a.rounds))
            f.write("| threads | type | llmq G weights/s | llmq GB/s | llmq % of read BW | llama.cpp G weights/s "
                    "| llama.cpp GB/s | llama.cpp % of read BW | llmq / llama.cpp | read BW GB/s |\n")
            f.write("|---|---|---|---|---|---|---|---|---|---|\n")
            for r in rows_out:
                f.write("| %d | %s | %.2f | %.1f | %.0f%% | %.2f | %.1f | %.0f%% | %.2fx | %.1f |\n" % r[:10])
    return 0


if __name__ == "__main__":
    sys.exit(main())
