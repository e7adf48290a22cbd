"""Checks `llmq imatrix` against llama.cpp and an independent forward pass.

llama-cpp-python ships no llama-imatrix, so this checks what can be checked
without it:
  1. llama.cpp's own GGUF reader (gguf_init_from_file in libggml-base.so)
     opens llmq's GGUF imatrix file and finds the keys llama-quantize reads
     (general.type, imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size)
     and an F32 NAME.in_sum2 / NAME.counts pair per weight;
  2. the per-column means in_sum2 / counts of every weight equal those of a
     float64 numpy forward pass of the same F32 model over the same chunks,
     tokenized by llama.cpp (llama-cpp-python, vocab only);
  3. the legacy .dat file holds the same means (values / ncall).

usage: /work/main/.peers/bin/python scripts/check_imatrix_llamacpp.py LLMQ_BIN \
           [MODEL_F32.gguf] [TEXT] [--ctx N] [--chunks N]
"""
import argparse
import ctypes
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader

import ggml_ref


class GgufInitParams(ctypes.Structure):
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


def read_with_llamacpp(path):
    """Entries {name: (sums, counts)} and keys, through llama.cpp's GGUF reader."""
    lib = ggml_ref.load()
    lib.gguf_init_from_file.restype = ctypes.c_void_p
    lib.gguf_init_from_file.argtypes = [ctypes.c_char_p, GgufInitParams]
    for fn, res, args in [("gguf_get_n_tensors", ctypes.c_int64, [ctypes.c_void_p]),
                          ("gguf_find_key", ctypes.c_int64, [ctypes.c_void_p, ctypes.c_char_p]),
                          ("gguf_get_val_str", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_val_u32", ctypes.c_uint32, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_arr_n", ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_arr_str", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t]),
                          ("gguf_get_tensor_name", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_tensor_type", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_tensor_size", ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_tensor_offset", ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_int64]),
                          ("gguf_get_data_offset", ctypes.c_size_t, [ctypes.c_void_p]),
                          ("gguf_free", None, [ctypes.c_void_p])]:
        getattr(lib, fn).restype = res
        getattr(lib, fn).argtypes = args
    g = lib.gguf_init_from_file(path.encode(), GgufInitParams(True, None))
    assert g, "llama.cpp's GGUF reader refused " + path
    keys = {}
    k = lib.gguf_find_key(g, b"general.type")
    assert k >= 0 and lib.gguf_get_val_str(g, k) == b"imatrix", "general.type"
    for name in (b"imatrix.chunk_count", b"imatrix.chunk_size"):
        k = lib.gguf_find_key(g, name)
        assert k >= 0, name
        keys[name.decode()] = lib.gguf_get_val_u32(g, k)
    k = lib.gguf_find_key(g, b"imatrix.datasets")
    assert k >= 0, "imatrix.datasets"
    keys["datasets"] = [lib.gguf_get_arr_str(g, k, i).decode() for i in range(lib.gguf_get_arr_n(g, k))]
    raw = open(path, "rb").read()
    base = lib.gguf_get_data_offset(g)
    tensors = {}
    for i in range(lib.gguf_get_n_tensors(g)):
        assert lib.gguf_get_tensor_type(g, i) == 0, "tensors must be F32"
        off, size = base + lib.gguf_get_tensor_offset(g, i), lib.gguf_get_tensor_size(g, i)
        tensors[lib.gguf_get_tensor_name(g, i).decode()] = np.frombuffer(raw[off:off + size], dtype=np.float32)
    lib.gguf_free(g)
    entries = {}
    for name, t in tensors.items():
        if name.endswith(".in_sum2"):
            w = name[:-len(".in_sum2")]
            entries[w] = (t.astype(np.float64), float(tensors[w + ".counts"][0]))
    assert len(entries) * 2 == len(tensors), "every in_sum2 has its counts and nothing else is stored"
    return entries, keys


def read_legacy(path):
    b = open(path, "rb").read()
    n, = struct.unpack_from("<i", b, 0)
    o, out = 4, {}
    for _ in range(n):
        ln, = struct.unpack_from("<i", b, o)
        name = b[o + 4:o + 4 + ln].decode()
        o += 4 + ln
        ncall, nval = struct.unpack_from("<ii", b, o)
        o += 8
        out[name] = np.frombuffer(b, dtype=np.float32, count=nval, offset=o).astype(np.float64) / ncall
        o += 4 * nval
    return out


def reference_sums(model_path, chunks):
    """Sum of x^2 per column at every linear layer's input, float64 forward."""
    r = GGUFReader(model_path)
    f = {fd.name: fd for fd in r.fields.values()}
    val = lambda k: f[k].parts[f[k].data[0]][0]
    H, Hkv = int(val("llama.attention.head_count")), int(val("llama.attention.head_count_kv"))
    eps, theta = float(val("llama.attention.layer_norm_rms_epsilon")), float(val("llama.rope.freq_base"))
    W = {t.name: np.asarray(t.data, dtype=np.float64) for t in r.tensors}
    n_layer = 1 + max(int(n.split(".")[1]) for n in W if n.startswith("blk."))
    C = W["token_embd.weight"].shape[1]
    hd = C // H
    sums = {}

    def add(name, x):
        sums[name] = sums.get(name, 0) + (x * x).sum(axis=0)

    def rms(x, w):
        return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + eps) * w

    def rope(x, nh):
        T = x.shape[0]
        x = x.reshape(T, nh, hd // 2, 2)
        ang = np.arange(T)[:, None] * theta ** (-2.0 * np.arange(hd // 2) / hd)[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        a, b = x[..., 0], x[..., 1]
        return np.stack([a * c - b * s, a * s + b * c], axis=-1).reshape(T, nh * hd)

    for toks in chunks:
        x = W["token_embd.weight"][toks]
        T = len(toks)
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(n_layer):
            p = "blk.%d." % l
            h = rms(x, W[p + "attn_norm.weight"])
            for w in ("attn_q", "attn_k", "attn_v"):
                add(p + w + ".weight", h)
            q = rope(h @ W[p + "attn_q.weight"].T, H)
            k = rope(h @ W[p + "attn_k.weight"].T, Hkv)
            v = h @ W[p + "attn_v.weight"].T
            att = np.empty((T, C))
            for hh in range(H):
                g = hh // (H // Hkv)
                s = q[:, hh * hd:(hh + 1) * hd] @ k[:, g * hd:(g + 1) * hd].T / np.sqrt(hd) + mask
                s = np.exp(s - s.max(axis=1, keepdims=True))
                att[:, hh * hd:(hh + 1) * hd] = (s / s.sum(axis=1, keepdims=True)) @ v[:, g * hd:(g + 1) * hd]
            add(p + "attn_output.weight", att)
            x = x + att @ W[p + "attn_output.weight"].T
            h = rms(x, W[p + "ffn_norm.weight"])
            add(p + "ffn_gate.weight", h)
            add(p + "ffn_up.weight", h)
            gt, up = h @ W[p + "ffn_gate.weight"].T, h @ W[p + "ffn_up.weight"].T
            m = gt / (1 + np.exp(-gt)) * up
            add(p + "ffn_down.weight", m)
            x = x + m @ W[p + "ffn_down.weight"].T
    return sums


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("llmq")
    ap.add_argument("model", nargs="?", default="models/SmolLM2-135M-Instruct-F32.gguf")
    ap.add_argument("text", nargs="?", default="../shared/data/wikitext-2/valid.txt")
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--chunks", type=int, default=2)
    a = ap.parse_args()
    import llama_cpp

    with tempfile.TemporaryDirectory() as tmp:
        text = open(a.text, "rb").read()[:40000]
        text = text[:text.rindex(b"\n") + 1]
        tpath = os.path.join(tmp, "text.txt")
        open(tpath, "wb").write(text)
        outs = [os.path.join(tmp, "im.gguf"), os.path.join(tmp, "im.dat")]
        for o in outs:
            subprocess.run([a.llmq, "imatrix", a.model, "-f", tpath, "-o", o, "--ctx", str(a.ctx),
                            "--chunks", str(a.chunks), "-t", "2"], check=True, stdout=subprocess.DEVNULL)
        ours, keys = read_with_llamacpp(outs[0])
        legacy = read_legacy(outs[1])

    print("llama.cpp's GGUF reader: %d entries, %s" % (len(ours), keys))
    assert keys["imatrix.chunk_count"] == a.chunks and keys["imatrix.chunk_size"] == a.ctx
    assert keys["datasets"] == [tpath]
    llm = llama_cpp.Llama(model_path=a.model, vocab_only=True, verbose=False)
    toks = llm.tokenize(text, add_bos=True, special=False)
    add_bos = len(llm.tokenize(b"", add_bos=True, special=False)) == 1
    chunks = []
    for i in range(a.chunks):
        c = list(toks[i * a.ctx:(i + 1) * a.ctx])
        if add_bos:
            c[0] = llm.token_bos()
        chunks.append(np.array(c))
    ref = reference_sums(a.model, chunks)
    assert sorted(ref) == sorted(ours), "entry names differ"
    worst, worst_name = 0.0, ""
    for name, (s, cnt) in ours.items():
        assert cnt == a.ctx * a.chunks, (name, cnt)
        mine, want = s / cnt, ref[name] / cnt
        err = np.max(np.abs(mine - want) / np.maximum(np.abs(want), 1e-12))
        if err > worst:
            worst, worst_name = err, name
        leg = np.max(np.abs(legacy[name] - mine) / np.maximum(np.abs(mine), 1e-30))
        assert leg < 1e-6, (name, leg)
    print("mean x^2 per column vs float64 numpy forward: max relative difference %.3g (%s)" % (worst, worst_name))
    print("legacy .dat: same means as the GGUF file")
    if worst > 2e-3:
        sys.exit("FAIL: values differ from the reference forward pass")
    print("OK")


if __name__ == "__main__":
    main()
