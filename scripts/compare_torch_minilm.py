"""llmq W8A8 (dynamic INT8) against PyTorch's quantize_dynamic on
all-MiniLM-L6-v2: speed on batches of 1 and 8 sequences of 128 tokens at 1
and 2 threads, and the cosine of each INT8 model's sentence embeddings to its
own float model's on WikiText-2 test sentences. Run through
scripts/compare_torch_minilm.sh (it builds the GGUF files and the venv).

The PyTorch model is BertModel's forward written directly in torch from
model.safetensors (nn.Embedding, nn.Linear, nn.LayerNorm, exact GELU, masked
softmax attention, mean pooling, L2 normalization), checked against llmq's
F32 embeddings first; quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
is PyTorch's documented recipe (INT8 weights per tensor, activations per
batch quantized at run time by FBGEMM/oneDNN).

usage: compare_torch_minilm.py LLMQ MODEL_DIR F32_GGUF INT8_GGUF SENTENCES [REPS]
"""
import math
import re
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn
from safetensors.torch import load_file
from tokenizers import Tokenizer

warnings.filterwarnings("ignore")


class Layer(nn.Module):
    def __init__(self, C, F, H):
        super().__init__()
        self.H = H
        self.q, self.k, self.v, self.o = (nn.Linear(C, C) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(C, eps=1e-12), nn.LayerNorm(C, eps=1e-12)
        self.up, self.down = nn.Linear(C, F), nn.Linear(F, C)

    def forward(self, x, bias):  # x (B, T, C), bias (B, 1, 1, T): 0 or -inf
        B, T, C = x.shape
        hd = C // self.H
        split = lambda t: t.view(B, T, self.H, hd).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = self.ln1(x + self.o(y))
        return self.ln2(x + self.down(Fn.gelu(self.up(x))))


class MiniLM(nn.Module):
    def __init__(self, sd):
        super().__init__()
        g = lambda n: sd.get(n, sd.get("bert." + n))
        V, C = g("embeddings.word_embeddings.weight").shape
        F = g("encoder.layer.0.intermediate.dense.weight").shape[0]
        n_layer = 1 + max(int(m.group(1)) for n in sd for m in [re.search(r"encoder\.layer\.(\d+)\.", n)] if m)
        self.wte = nn.Embedding.from_pretrained(g("embeddings.word_embeddings.weight"))
        self.wpe = nn.Embedding.from_pretrained(g("embeddings.position_embeddings.weight"))
        self.wtt = nn.Embedding.from_pretrained(g("embeddings.token_type_embeddings.weight"))
        self.ln = nn.LayerNorm(C, eps=1e-12)
        self.ln.weight.data, self.ln.bias.data = g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias")
        self.layers = nn.ModuleList(Layer(C, F, 12) for _ in range(n_layer))
        names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "o": "attention.output.dense", "ln1": "attention.output.LayerNorm", "up": "intermediate.dense",
                 "down": "output.dense", "ln2": "output.LayerNorm"}
        for i, L in enumerate(self.layers):
            for attr, hf in names.items():
                mod = getattr(L, attr)
                mod.weight.data = g("encoder.layer.%d.%s.weight" % (i, hf)).clone()
                mod.bias.data = g("encoder.layer.%d.%s.bias" % (i, hf)).clone()

    def forward(self, ids, mask):  # (B, T) int64, (B, T) float 1/0
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T))[None] + self.wtt(torch.zeros_like(ids))
        x = self.ln(x)
        bias = ((1.0 - mask) * -1e30)[:, None, None, :]
        for L in self.layers:
            x = L(x, bias)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return Fn.normalize(pooled, dim=-1)


def embed_all(model, tok, sentences):
    out = []
    with torch.inference_mode():
        for s in sentences:
            ids = tok.encode(s).ids
            assert len(ids) <= 128, "sentence over 128 tokens"
            t = torch.tensor([ids])
            out.append(model(t, torch.ones_like(t, dtype=torch.float32))[0].numpy())
    return np.stack(out)


def cosines(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def time_torch(model, ids, reps):
    mask = torch.ones_like(ids, dtype=torch.float32)
    ts = []
    with torch.inference_mode():
        model(ids, mask)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            model(ids, mask)
            ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def time_llmq(llmq, gguf, batch, threads, reps):
    r = subprocess.run([llmq, "bench", "embed", gguf, "--batch", str(batch), "-t", str(threads), "--tokens", "128",
                        "--reps", str(reps)], capture_output=True, text=True, check=True)
    row = [l.split() for l in r.stdout.splitlines() if re.match(r"^\s*%d\s+%d\s" % (batch, threads), l)][0]
    return float(row[2]) / 1e3


def main():
    llmq, model_dir, f32_gguf, int8_gguf, sent_file = sys.argv[1:6]
    reps = int(sys.argv[6]) if len(sys.argv) > 6 else 10
    rounds = int(sys.argv[7]) if len(sys.argv) > 7 else 3
    tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
    tok.no_padding()
    tok.no_truncation()
    sentences = [l.rstrip("\n") for l in open(sent_file, encoding="utf-8") if l.strip()]
    fp32 = MiniLM(load_file(model_dir + "/model.safetensors")).eval()
    int8 = torch.ao.quantization.quantize_dynamic(fp32, {nn.Linear}, dtype=torch.qint8)
    torch.set_num_threads(2)
    e_f32, e_i8 = embed_all(fp32, tok, sentences), embed_all(int8, tok, sentences)

    def llmq_embed(gguf):
        r = subprocess.run([llmq, "embed", gguf, "-f", sent_file, "-t", "2"], capture_output=True, text=True,
                           check=True)
        return np.array([[float(v) for v in l.split()] for l in r.stdout.splitlines()])

    l_f32, l_i8 = llmq_embed(f32_gguf), llmq_embed(int8_gguf)
    check = cosines(l_f32, e_f32)
    print("torch %s, quantized engine %s, llmq %s" % (torch.__version__, torch.backends.quantized.engine, llmq))
    print("float check: llmq F32 vs torch float cosine min %.7f over %d sentences" % (check.min(), len(sentences)))
    c_t, c_l = cosines(e_i8, e_f32), cosines(l_i8, l_f32)
    print("\n| INT8 model vs its float model | mean cosine | worst cosine |\n| --- | --- | --- |")
    print("| PyTorch quantize_dynamic (qint8) | %.5f | %.5f |" % (c_t.mean(), c_t.min()))
    print("| llmq dynamic-int8 | %.5f | %.5f |" % (c_l.mean(), c_l.min()))

    ids1 = tok.encode(" ".join(sentences)).ids[:128]
    print("\nms per batch of 128-token sequences: each cell is the median over %d rounds (torch and llmq "
          "measured back to back in every round) of the median of %d runs; sentences/s in brackets; the ratio is "
          "the median of the per-round ratios\n" % (rounds, reps))
    print("| batch | threads | torch fp32 | torch dynamic int8 | llmq F32 | llmq dynamic-int8 | llmq int8 / torch int8 "
          "| per-round ratios |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    med = statistics.median
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (1, 8):
            ids = torch.tensor([ids1] * batch)
            r = max(3, reps // (2 if batch > 1 else 1))
            runs = []
            for _ in range(rounds):
                tf, ti = time_torch(fp32, ids, r), time_torch(int8, ids, r)
                lf, li = time_llmq(llmq, f32_gguf, batch, threads, r), time_llmq(llmq, int8_gguf, batch, threads, r)
                runs.append((tf, ti, lf, li))
            tf, ti, lf, li = (med(x[k] for x in runs) for k in range(4))
            ratios = [x[1] / x[3] for x in runs]
            cell = lambda s: "%.1f (%.1f/s)" % (1e3 * s, batch / s)
            print("| %d | %d | %s | %s | %s | %s | %.2fx | %s |" % (batch, threads, cell(tf), cell(ti), cell(lf),
                                                                 cell(li), med(ratios),
                                                                 ", ".join("%.2f" % x for x in ratios)))
            sys.stdout.flush()

if __name__ == "__main__":
    main()
