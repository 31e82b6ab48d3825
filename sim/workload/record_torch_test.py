#!/usr/bin/python3
"""Tests of sim/workload/record_torch.py on a tiny transformer defined here (no download):
2 layers, 4 query heads sharing 2 key/value heads (GQA), head_dim 16, rotary positions, causal
attention with scale 0.2 (not 1/sqrt(16), so a recorder that applied or assumed the default
scale would fail), float32 on the CPU, weights from torch.manual_seed(0).

  * --attention-fn (the model's attention function) and --attention-module (its attention
    module; mask inferred from the output, scale from --scale): the recorded tensors fed to
    `hsr bench prefill --save-output` (the recording's causal mask by default) reproduce the
    model's own attention output within attention_error_bound (record_torch.py: the float32
    error of the model's attention plus hsr's: dense-ref rounds a float64 result, dense-hwy's
    float32 error is bounded by the same formula); `hsr bench decode` with m = 8 on the same
    recording gives the model's last 8 rows (the bottom-right mask); the safetensors copy gives
    the npy output bit for bit; with --causal off hsr is far outside the bound (the check can
    fail);
  * scaled_dot_product_attention: wrapped on a stand-in defined here where torch < 2 lacks it
    (the wrapper's is_causal / attn_mask handling), and on PyTorch's own where torch >= 2 has
    it (skipped, and said so, otherwise);
  * bad input: a layer the model lacks, a --causal flag its attention contradicts, layers whose
    tensors differ in shape, an existing output folder, a module pattern matching nothing: one
    line "record_torch.py: error: ...expected...", exit 2, no output folder, no temporary left.
Usage: record_torch_test.py path/to/hsr   (exit 77: torch or numpy missing, ctest shows it skipped)
"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"SKIP: record_torch tests need torch and numpy for {sys.executable} ({e}); on Debian: "
          "apt-get install python3-torch python3-numpy (bash ci/setup does)")
    sys.exit(77)

sys.path.insert(0, HERE)
import record_torch  # noqa: E402

THIS = os.path.abspath(__file__)
TEXT = ("def attention(q, k, v):\n    s = q @ k.T / math.sqrt(d)\n    return softmax(s) @ v  "
        "# the tiny model reads these bytes\n")
SCALE = 0.2
HEADS, KV_HEADS, HEAD_DIM, D_MODEL = 4, 2, 16, 64


def attention(q, k, v, causal, scale):
    """The tiny model's attention: q [B, Hq, n, d], k, v [B, Hkv, n, d] -> [B, Hq, n, d]."""
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    s = (q @ k.transpose(-1, -2)) * scale
    if causal:
        n = q.shape[2]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return s.softmax(dim=-1) @ v


def reference_sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """scaled_dot_product_attention's semantics, for torch < 2 (same heads for q, k, v)."""
    s = (query @ key.transpose(-1, -2)) * (scale or 1.0 / math.sqrt(query.shape[-1]))
    n, m = s.shape[-2], s.shape[-1]
    if is_causal:
        attn_mask = torch.ones(n, m, dtype=torch.bool).tril()
    if attn_mask is not None:
        s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else s + attn_mask
    return s.softmax(dim=-1) @ value


class Core(nn.Module):
    """The attention itself as a module (for --attention-module): forward(q, k, v)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.last = None  # the model's own attention output, [B, Hq, n, d]

    def forward(self, q, k, v):
        if self.mode == "fn":
            out = attention(q, k, v, True, SCALE)
        else:
            group = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
            # Looked up at each call, as models do: the recorder's wrapper is what runs.
            sdpa = F.scaled_dot_product_attention
            if self.mode == "sdpa-mask":
                n = q.shape[2]
                out = sdpa(q, k, v, attn_mask=torch.ones(n, n, dtype=torch.bool).tril(),
                           scale=SCALE)
            else:
                out = sdpa(q, k, v, is_causal=True, scale=SCALE)
        self.last = out
        return out


def rotary(x):
    """Rotary position embedding on [B, H, n, d] (pairs of even/odd columns)."""
    n, d = x.shape[2], x.shape[3]
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    ang = pos * freq[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, heads, mode):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(D_MODEL), nn.LayerNorm(D_MODEL)
        self.wq = nn.Linear(D_MODEL, heads * HEAD_DIM, bias=False)
        self.wk = nn.Linear(D_MODEL, KV_HEADS * HEAD_DIM, bias=False)
        self.wv = nn.Linear(D_MODEL, KV_HEADS * HEAD_DIM, bias=False)
        self.wo = nn.Linear(heads * HEAD_DIM, D_MODEL, bias=False)
        self.mlp = nn.Sequential(nn.Linear(D_MODEL, 4 * D_MODEL), nn.GELU(),
                                 nn.Linear(4 * D_MODEL, D_MODEL))
        self.core = Core(mode)

    def forward(self, x):
        b, n, _ = x.shape
        h = self.norm1(x)
        q = self.wq(h).view(b, n, self.heads, HEAD_DIM).transpose(1, 2)
        k = self.wk(h).view(b, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.wv(h).view(b, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        o = self.core(rotary(q), rotary(k), v)
        x = x + self.wo(o.transpose(1, 2).reshape(b, n, self.heads * HEAD_DIM))
        return x + self.mlp(self.norm2(x))


class Tiny(nn.Module):
    def __init__(self, heads=(HEADS, HEADS), mode="fn"):
        super().__init__()
        self.embed = nn.Embedding(256, D_MODEL)
        self.blocks = nn.ModuleList(Block(h, mode) for h in heads)
        self.out = nn.Linear(D_MODEL, 256)

    def forward(self, ids):
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x)
        return self.out(x)


def tiny_model():
    torch.manual_seed(0)
    return Tiny()


def tiny_model_uneven():  # layer 1 has 2 query heads: its q differs in shape from layer 0's
    torch.manual_seed(0)
    return Tiny(heads=(HEADS, 2))


def tiny_model_sdpa():  # calls scaled_dot_product_attention (the stand-in where torch < 2)
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = reference_sdpa
    torch.manual_seed(0)
    return Tiny(mode="sdpa")


def tiny_model_sdpa_mask():  # the same with a boolean causal attn_mask instead of is_causal
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = reference_sdpa
    torch.manual_seed(0)
    return Tiny(mode="sdpa-mask")


# ---- the checks ----

FAILS = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        FAILS.append(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def record_cli(out, *extra, model="tiny_model"):
    return run([sys.executable, os.path.join(HERE, "record_torch.py"), "--model",
                f"{THIS}:{model}", "--text", TEXT, "--out", out, *extra])


def model_outputs(factory):
    """The model's own attention outputs per layer, [Hq, n, d] float32 (in this process)."""
    model = factory()
    model.eval()
    with torch.no_grad():
        model(torch.tensor([list(TEXT.encode())]))
    return [blk.core.last[0].numpy() for blk in model.blocks]


def bench(hsr, *args):
    r = run([hsr, "bench", *args, "--repeats", "1", "--cold", "off", "--format", "json"])
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    return r, rows


def check_against_model(hsr, rec, tmp, name, outputs, factory_tensors):
    """Each recorded layer through hsr bench prefill (and decode, m = 8) vs the model's output."""
    u32 = 2.0**-24
    for layer, want in enumerate(outputs):
        q, k, v = factory_tensors(layer)
        bound = record_torch.attention_error_bound(q, k, v, SCALE, True, u32)
        prefix = os.path.join(tmp, f"{name}{layer}")
        r, rows = bench(hsr, "prefill", "--workload", f"npy:{rec},layer={layer},m=all",
                        "--backend", "dense-ref,dense-hwy", "--save-output", prefix)
        check(r.returncode == 0 and len(rows) == 2, f"{name} layer {layer}: hsr bench prefill ran "
              f"({r.stderr.strip()[:200]})")
        if r.returncode:
            continue
        check(all(x["causal"] is True and x["causal_source"] == "workload" for x in rows),
              f"{name} layer {layer}: hsr used the recording's causal mask")
        for backend, tol in (("dense-ref", bound + u32 * np.abs(want)), ("dense-hwy", 2 * bound)):
            got = np.load(f"{prefix}.{backend}.npy")
            ratio = float((np.abs(got.astype(np.float64) - want) / tol).max())
            check(got.shape == want.shape and ratio <= 1.0,
                  f"{name} layer {layer}: {backend} reproduces the model's attention output "
                  f"(max |err| / bound = {ratio:.3g}, bound max {float(tol.max()):.3g})")
        # Decode of the last 8 rows: the bottom-right mask (row i of 8 sees n - 8 + i + 1 keys).
        r, rows = bench(hsr, "decode", "--workload", f"npy:{rec},layer={layer},m=8", "--backend",
                        "dense-ref", "--save-output", prefix + "d")
        if r.returncode == 0:
            got = np.load(f"{prefix}d.dense-ref.npy")
            tail = (slice(None), slice(-8, None))
            ratio = float((np.abs(got - want[tail]) / (bound + u32 * np.abs(want))[tail]).max())
            check(ratio <= 1.0 and rows[0]["causal"] is True,
                  f"{name} layer {layer}: hsr bench decode m=8 gives the model's last 8 rows "
                  f"(max |err| / bound = {ratio:.3g})")
        else:
            check(False, f"{name} layer {layer}: hsr bench decode: {r.stderr.strip()[:200]}")
        # The same data without the mask: far outside the bound (this comparison can fail).
        r, _ = bench(hsr, "prefill", "--workload", f"npy:{rec},layer={layer},m=all", "--backend",
                     "dense-ref", "--causal", "off", "--save-output", prefix + "u")
        got = np.load(f"{prefix}u.dense-ref.npy")
        check(float((np.abs(got - want) / bound).max()) > 100,
              f"{name} layer {layer}: without the causal mask hsr is outside the bound")


def recorded_tensors(rec):
    def get(layer):
        return [np.load(os.path.join(rec, f"layer{layer:02d}_{x}.npy")) for x in "qkv"]
    return get


def expect_error(res, fragment, out, what):
    line = res.stderr.strip()
    ok = (res.returncode == 2 and len(line.splitlines()) == 1 and
          line.startswith("record_torch.py: error: ") and "expected" in line and fragment in line)
    parent = os.path.dirname(out)
    leftovers = [f for f in os.listdir(parent) if ".tmp-" in f]
    check(ok and not os.path.exists(out) and not leftovers,
          f"{what}: one-line error, nothing written ({line[:300]})")


def main():
    hsr = os.path.abspath(sys.argv[1])
    print(f"torch {torch.__version__}, numpy {np.__version__}, {sys.executable}")
    with tempfile.TemporaryDirectory() as tmp:
        fn_outputs = model_outputs(tiny_model)

        # 1. The attention function: mask and scale from its arguments; GQA kept; safetensors.
        rec = os.path.join(tmp, "fn")
        r = record_cli(rec, "--attention-fn", f"{THIS}:attention", "--safetensors")
        check(r.returncode == 0, f"record --attention-fn ({r.stderr.strip()[:300]})")
        m = json.load(open(os.path.join(rec, "manifest.json")))
        check(m["causal"] is True and m["scale"] == SCALE and m["heads"] == HEADS and
              m["kv_heads"] == KV_HEADS and m["head_dim"] == HEAD_DIM and
              m["n"] == len(TEXT.encode()) and m["layers"] == [0, 1] and m["dtype"] == "float32",
              f"manifest: {json.dumps({k: m[k] for k in ('causal', 'scale', 'heads', 'kv_heads', 'n', 'layers')})}")
        check(np.load(os.path.join(rec, "layer00_k.npy")).shape == (KV_HEADS, m["n"], HEAD_DIM),
              "k recorded with its kv heads (GQA shape kept)")
        check_against_model(hsr, rec, tmp, "fn", fn_outputs, recorded_tensors(rec))
        r1, _ = bench(hsr, "prefill", "--workload", f"npy:{rec},layer=1,m=all", "--backend",
                      "dense-ref", "--save-output", os.path.join(tmp, "npy1"))
        r2, _ = bench(hsr, "prefill", "--workload",
                      f"safetensors:{rec}/layer01.safetensors,m=all", "--backend", "dense-ref",
                      "--save-output", os.path.join(tmp, "st1"))
        check(r1.returncode == 0 and r2.returncode == 0 and
              np.array_equal(np.load(os.path.join(tmp, "npy1.dense-ref.npy")),
                             np.load(os.path.join(tmp, "st1.dense-ref.npy"))),
              "safetensors copy gives the npy output bit for bit")

        # 2. The attention module: mask inferred from the output, scale from --scale.
        rec2 = os.path.join(tmp, "mod")
        r = record_cli(rec2, "--attention-module", "Core", "--scale", str(SCALE),
                       "--layers", "1", "--dtype", "float16")
        m2 = json.load(open(os.path.join(rec2, "manifest.json"))) if r.returncode == 0 else {}
        check(r.returncode == 0 and m2.get("causal") is True and m2.get("layers") == [1] and
              m2.get("dtype") == "float16",
              f"record --attention-module: mask inferred causal, float16 ({r.stderr.strip()[:300]})")
        fn = recorded_tensors(rec)
        q16 = np.load(os.path.join(rec2, "layer01_q.npy"))
        check(q16.dtype == np.float16 and np.array_equal(q16, fn(1)[0].astype(np.float16)),
              "module path records the same q as the function path (float16 rounding)")
        r = record_cli(os.path.join(tmp, "mod-noscale"), "--attention-module", "blocks.*.core")
        expect_error(r, "scale", os.path.join(tmp, "mod-noscale"),
                     "module path without --scale (1/sqrt(16) is not the model's 0.2)")

        # 3. scaled_dot_product_attention: wrapped (on the stand-in where torch < 2).
        for factory in ("tiny_model_sdpa", "tiny_model_sdpa_mask"):
            rec3 = os.path.join(tmp, factory)
            r = record_cli(rec3, model=factory)
            ok = r.returncode == 0
            check(ok, f"record {factory} (scaled_dot_product_attention "
                  f"{'of torch' if hasattr(F, 'scaled_dot_product_attention') else 'stand-in'}) "
                  f"({r.stderr.strip()[:300]})")
            if ok:
                m3 = json.load(open(os.path.join(rec3, "manifest.json")))
                check(m3["causal"] is True and m3["scale"] == SCALE and m3["kv_heads"] == HEADS,
                      f"{factory}: causal, scale {SCALE} from the call (k given repeated to "
                      f"{HEADS} heads, recorded as consumed)")
                for layer in (0, 1):
                    check(np.array_equal(np.load(os.path.join(rec3, f"layer{layer:02d}_q.npy")),
                                         fn(layer)[0]),
                          f"{factory} layer {layer}: the same q as the function path")
        version = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
        if version >= (2, 1):  # scaled_dot_product_attention with its scale argument
            rec4 = os.path.join(tmp, "sdpa-torch")
            outs = model_outputs(tiny_model_sdpa)
            r = record_cli(rec4, model="tiny_model_sdpa")
            check(r.returncode == 0, f"record with torch's scaled_dot_product_attention "
                  f"({r.stderr.strip()[:300]})")
            if r.returncode == 0:
                check_against_model(hsr, rec4, tmp, "sdpa", outs, recorded_tensors(rec4))
        else:
            print(f"SKIP: torch {torch.__version__}: PyTorch's own scaled_dot_product_attention "
                  "(>= 2.1, with scale) not here: the recorder's SDPA path ran on the stand-in "
                  "above only")

        # 4. Bad input.
        bad = os.path.join(tmp, "bad")
        expect_error(record_cli(bad, "--attention-fn", f"{THIS}:attention", "--layers", "0,2"),
                     "--layers: expected layers among 0..1 (the model made 2 attention calls), "
                     "got 2", bad, "a layer the model lacks")
        expect_error(record_cli(bad, "--attention-fn", f"{THIS}:attention", "--causal", "off"),
                     "--causal off: expected the mask of attention call 0, got a contradiction",
                     bad, "--causal off against a causal attention function")
        expect_error(record_cli(bad, "--attention-module", "Core", "--scale", str(SCALE),
                                "--causal", "off"),
                     "with causal on max abs error", bad,
                     "--causal off against a causal attention module (its output decides)")
        expect_error(record_cli(bad, "--attention-fn", f"{THIS}:attention",
                                model="tiny_model_uneven"),
                     f"layer 1: expected q shaped [4, {len(TEXT.encode())}, 16] like layer 0's", bad,
                     "layers whose tensors differ in shape")
        expect_error(record_cli(rec, "--attention-fn", f"{THIS}:attention"),
                     "--out: expected a folder that does not exist yet", os.path.join(tmp, "x"),
                     "an existing output folder")
        expect_error(record_cli(bad, "--attention-module", "NoSuchAttention"),
                     "matches nothing", bad, "a module pattern matching nothing")
        expect_error(record_cli(bad, "--attention-fn", f"{THIS}:no_such_function"),
                     "expected 'no_such_function'", bad, "an attention function that is not there")
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        return 1
    print("all record_torch checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
