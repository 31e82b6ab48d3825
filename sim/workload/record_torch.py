#!/usr/bin/python3
"""Records a PyTorch model's attention inputs as an hsr workload folder (`npy:DIR`).

Runs the model once on the tokens you give and keeps, for each attention call (one per layer, in
call order), Q, K and V exactly as the attention consumed them: after the rotary embedding,
before the 1/sqrt(head_dim) scale, with grouped-query shapes kept (q [heads, n, d], k and v
[kv_heads, n, d]). Two ways in:
  * models that call torch.nn.functional.scaled_dot_product_attention (PyTorch >= 2): it is
    wrapped for the run; its is_causal / attn_mask and scale arguments give the mask and scale;
  * any other model: name its attention function (--attention-fn FILE.py:NAME or
    package.module:NAME, patched for the run) or its attention modules (--attention-module
    PATTERN: a class name or an fnmatch pattern of names in model.named_modules(), hooked).
    Their first three arguments are q, k, v ([batch, heads, n, d], or --layout blhd for
    [batch, n, heads, d]); a `scale` / `softmax_scale` argument gives the scale (else --scale,
    else 1/sqrt(d)), a `causal` / `is_causal` argument the mask (else --causal on|off, else the
    recorded output decides).
Every call's output is checked against float64 attention of the recorded tensors with the mask
and scale the manifest will state, within the float error bound of attention_error_bound below;
a --causal flag that the output contradicts, a mask that is neither causal nor empty, a layer
the model lacks or tensors whose shapes differ across layers are one-line errors naming the layer
and field. The folder is written under a temporary name beside OUT and renamed to OUT when
complete, so OUT is either whole or absent.

Writes OUT/manifest.json + OUT/layerLL_{q,k,v}.npy (float32, or --dtype float16), the format of
sim/workload/data/README.md with "causal", "scale", "dtype" and "kv_heads" set; --safetensors
also writes OUT/layerLL.safetensors (tensors q, k, v; __metadata__ scale, causal), which
`safetensors:FILE` reads.

Usage:
  record_torch.py --model FILE.py:FACTORY (--tokens FILE | --text TEXT | --text-file FILE)
                  [--tokenizer FILE.py:NAME] [--attention-fn SPEC | --attention-module PATTERN]
                  [--layers 0,3] [--causal on|off] [--scale S] [--layout bhld|blhd]
                  [--dtype float32|float16] [--safetensors] --out OUT
FACTORY() returns the torch.nn.Module; it is called as model(ids) with ids a LongTensor [1, n].
Without --tokenizer, text is encoded as UTF-8 bytes (byte-level models). From Python:
record(model, ids, out_dir, ...). Test: sim/workload/record_torch_test.py.
"""
import argparse
import contextlib
import fnmatch
import importlib
import importlib.util
import inspect
import json
import math
import os
import shutil
import sys

try:
    import numpy as np
except ImportError:  # main() says so in one line
    np = None


class RecordError(Exception):
    """Bad input: one line, 'what: expected X, got Y'."""


def unit_roundoff(dtype_name):
    """u of the arithmetic a tensor of this dtype was computed in."""
    return {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11,
            "bfloat16": 2.0**-8}[dtype_name]


def gamma(k, u):
    return k * u / (1 - k * u)


def masked_scores(q, k, scale, causal):
    """float64 scaled scores [H, n, n] (k already expanded to q's heads); -inf where masked."""
    s = scale * np.einsum("hid,hjd->hij", q, k)
    if causal:
        n_q, n_k = s.shape[1], s.shape[2]
        visible = np.arange(n_k)[None, :] <= np.arange(n_q)[:, None] + (n_k - n_q)
        s = np.where(visible[None], s, -np.inf)
    return s


def expand_kv(q, k, v):
    group = q.shape[0] // k.shape[0]
    return np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)


def reference_attention(q, k, v, scale, causal):
    """float64 softmax attention of float arrays q [Hq, n, d], k, v [Hkv, n, d]."""
    q = q.astype(np.float64)
    k, v = expand_kv(q, k.astype(np.float64), v.astype(np.float64))
    s = masked_scores(q, k, scale, causal)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hij,hjc->hic", p, v)


def attention_error_bound(q, k, v, scale, causal, model_u, input_u=0.0):
    """Per element bound on |o_model - o_exact| for softmax attention computed by the model in
    floating point with unit roundoff model_u, from inputs rounded with relative error input_u
    (0 when the recorded tensors are the model's own values).

    Derivation (worst case, any summation order): a score costs d products and sums plus the
    scale, |s~_ij - s_ij| <= e_ij = (gamma(d + 2, u) + 2 input_u) scale sum_a |q_ia k_ja|.
    Softmax is invariant to a common shift, so with E_i = max_j e_ij the computed weights satisfy
    p~_ij = p_ij exp(t_ij) (1 + th), |t_ij| <= 2 E_i, |th| <= gamma(n + 3, u) (exp, the sum of n
    terms, the division), hence |p~_ij - p_ij| <= p_ij (exp(2 E_i) - 1 + gamma(n + 3, u)) (to
    first order in u). The output o_ic = sum_j p_ij v_jc adds gamma(n, u) sum_j p~_ij |v_jc| and
    the rounding of v, input_u |v_jc|. With A_ic = sum_j p_ij |v_jc| (float64):
        |o~_ic - o_ic| <= (exp(2 E_i) - 1 + 2 gamma(n + 3, u) + input_u) A_ic (1 + small).
    The factor 1.01 covers the second-order terms; u |o| is the final rounding of the output."""
    u = model_u
    q = q.astype(np.float64)
    k, v = expand_kv(q, k.astype(np.float64), v.astype(np.float64))
    n, d = k.shape[1], q.shape[2]
    s = masked_scores(q, k, scale, causal)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    absdot = scale * np.einsum("hid,hjd->hij", np.abs(q), np.abs(k))
    absdot = np.where(np.isfinite(s), absdot, 0.0)
    e_max = (gamma(d + 2, u) + 2 * input_u) * absdot.max(axis=-1, keepdims=True)
    a = np.einsum("hij,hjc->hic", p, np.abs(v))
    o = np.einsum("hij,hjc->hic", p, v)
    factor = np.expm1(2 * e_max) + 2 * gamma(n + 3, u) + input_u
    return 1.01 * factor * a + u * np.abs(o) + 1e-30


# ---- loading user code ----

_loaded_files = {}


def load_object(spec, what):
    """FILE.py:NAME or package.module:NAME -> (module, NAME, object). One module per file."""
    if ":" not in spec:
        raise RecordError(f"{what}: expected FILE.py:NAME or module:NAME, got '{spec}'")
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py"):
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise RecordError(f"{what}: expected a Python file, got '{where}' (not found)")
        if path not in _loaded_files:
            mod_name = "_record_torch_user_" + str(len(_loaded_files))
            mspec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(mspec)
            sys.modules[mod_name] = module
            mspec.loader.exec_module(module)
            _loaded_files[path] = module
        module = _loaded_files[path]
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise RecordError(f"{what}: expected an importable module, got '{where}' ({e})")
    if not hasattr(module, name):
        raise RecordError(f"{what}: expected '{name}' in {where}, got no such name")
    return module, name, getattr(module, name)


# ---- capturing attention calls ----

class Call:
    """One attention call: q [Hq, n, d], k, v [Hkv, n, d] as numpy, the output [Hq, n, dv],
    and what the call said about mask and scale (None: it did not say)."""

    def __init__(self, q, k, v, out, causal, scale, mask_note, dtype):
        self.q, self.k, self.v, self.out = q, k, v, out
        self.causal, self.scale, self.mask_note, self.dtype = causal, scale, mask_note, dtype


def to_heads(t, layout, what, index):
    """[batch=1, heads, n, d] (or blhd) -> numpy [heads, n, d] float32/float64 as computed."""
    import torch
    if not isinstance(t, torch.Tensor):
        raise RecordError(f"attention call {index}: expected {what} to be a tensor, got "
                          f"{type(t).__name__}")
    x = t.detach()
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise RecordError(f"attention call {index}: expected batch 1 for {what}, got shape "
                              f"{list(x.shape)} (record one sequence at a time)")
        x = x[0]
        if layout == "blhd":
            x = x.transpose(0, 1)
    elif x.dim() == 3:
        if layout == "blhd":
            x = x.transpose(0, 1)
    else:
        raise RecordError(f"attention call {index}: expected {what} shaped [batch, heads, n, d], "
                          f"got {list(x.shape)}")
    dtype = str(x.dtype).replace("torch.", "")
    return x.to(torch.float64 if x.dtype == torch.float64 else torch.float32).cpu().numpy(), dtype


def causal_from_mask(mask, n_q, n_k, index):
    """An SDPA attn_mask -> True (the bottom-right causal mask), False (nothing masked), else
    a RecordError: hsr records causal or unmasked attention."""
    import torch
    m = mask.detach().cpu()
    while m.dim() > 2:
        if any(m[i].ne(m[0]).any() for i in range(1, m.shape[0])):
            raise RecordError(f"attention call {index}: expected one attn_mask for every batch "
                              "and head, got masks that differ")
        m = m[0]
    allowed = m if m.dtype == torch.bool else torch.isfinite(m) & (m == 0)
    if m.dtype != torch.bool and not bool(((m == 0) | torch.isneginf(m)).all()):
        raise RecordError(f"attention call {index}: expected attn_mask of 0 / -inf (or boolean), "
                          "got other additive values (a bias hsr cannot record)")
    causal = torch.arange(n_k)[None, :] <= torch.arange(n_q)[:, None] + (n_k - n_q)
    if bool(allowed.all()):
        return False
    if allowed.shape == causal.shape and bool((allowed == causal).all()):
        return True
    raise RecordError(f"attention call {index}: expected attn_mask to be the causal mask or "
                      "empty, got another mask (padding, sliding window, ...); hsr records "
                      "causal or unmasked attention only")


@contextlib.contextmanager
def capture_sdpa(calls, layout):
    import torch
    import torch.nn.functional as F
    original = getattr(F, "scaled_dot_product_attention", None)
    if original is None:
        raise RecordError(f"torch {torch.__version__}: expected "
                          "torch.nn.functional.scaled_dot_product_attention (PyTorch >= 2), got "
                          "none; name the model's attention with --attention-fn or "
                          "--attention-module")

    def wrapped(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *args, **kw):
        out = original(query, key, value, attn_mask, dropout_p, is_causal, *args, **kw)
        index = len(calls)
        if dropout_p:
            raise RecordError(f"attention call {index}: expected dropout_p 0 (put the model in "
                              f"eval mode), got {dropout_p}")
        q, dtype = to_heads(query, layout, "query", index)
        k, _ = to_heads(key, layout, "key", index)
        v, _ = to_heads(value, layout, "value", index)
        causal = bool(is_causal)
        note = "is_causal" if is_causal else "no mask"
        if attn_mask is not None:
            if is_causal:
                raise RecordError(f"attention call {index}: expected either attn_mask or "
                                  "is_causal, got both")
            causal = causal_from_mask(attn_mask, q.shape[1], k.shape[1], index)
            note = "attn_mask (causal)" if causal else "attn_mask (nothing masked)"
        scale = kw.get("scale")
        o, _ = to_heads(out, layout, "output", index)
        calls.append(Call(q, k, v, o, causal, scale, note, dtype))
        return out

    F.scaled_dot_product_attention = wrapped
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def bind_call(fn, args, kwargs):
    try:
        return inspect.signature(fn).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return {}


def said(bound, names):
    for n in names:
        if n in bound and bound[n] is not None:
            return bound[n]
    return None


def record_call(calls, layout, fn, args, kwargs, out):
    index = len(calls)
    if len(args) < 3:
        raise RecordError(f"attention call {index}: expected q, k, v as the first three "
                          f"positional arguments, got {len(args)} positional")
    q, dtype = to_heads(args[0], layout, "q", index)
    k, _ = to_heads(args[1], layout, "k", index)
    v, _ = to_heads(args[2], layout, "v", index)
    bound = bind_call(fn, args, kwargs) if fn is not None else {}
    scale = said(bound, ("scale", "softmax_scale", "sm_scale"))
    causal = said(bound, ("causal", "is_causal"))
    if isinstance(out, (tuple, list)):
        out = out[0]
    o, _ = to_heads(out, layout, "output", index)
    calls.append(Call(q, k, v, o, None if causal is None else bool(causal),
                      None if scale is None else float(scale),
                      "its causal argument" if causal is not None else None, dtype))


@contextlib.contextmanager
def capture_function(calls, layout, spec):
    module, name, fn = load_object(spec, "--attention-fn")

    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        record_call(calls, layout, fn, args, kwargs, out)
        return out

    setattr(module, name, wrapped)
    try:
        yield
    finally:
        setattr(module, name, fn)


@contextlib.contextmanager
def capture_modules(calls, layout, model, pattern):
    matched = [(name, m) for name, m in model.named_modules()
               if type(m).__name__ == pattern or (name and fnmatch.fnmatch(name, pattern))]
    if not matched:
        raise RecordError(f"--attention-module: expected a class name or module name pattern "
                          f"of the model, got '{pattern}' (matches nothing)")
    handles = []
    for _, m in matched:
        def hook(mod, args, out):
            record_call(calls, layout, getattr(mod, "forward", None), args, {}, out)
        handles.append(m.register_forward_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


# ---- checking and writing ----

def check_mask(call, index, causal_flag, scale_flag):
    """Decides the call's mask and scale and checks the output reproduces. Returns (causal,
    scale, max_abs_err, max_err_over_tol)."""
    d = call.q.shape[2]
    scale = call.scale if call.scale is not None else (
        scale_flag if scale_flag is not None else 1.0 / math.sqrt(d))
    u = unit_roundoff(call.dtype)

    def misfit(causal):
        ref = reference_attention(call.q, call.k, call.v, scale, causal)
        tol = attention_error_bound(call.q, call.k, call.v, scale, causal, u)
        err = np.abs(call.out.astype(np.float64) - ref)
        return float(err.max()), float((err / tol).max())

    if call.causal is not None:
        if causal_flag is not None and causal_flag != call.causal:
            raise RecordError(
                f"--causal {'on' if causal_flag else 'off'}: expected the mask of attention call "
                f"{index}, got a contradiction (the call says {call.mask_note}: causal "
                f"{'on' if call.causal else 'off'})")
        causal = call.causal
    elif causal_flag is not None:
        causal = causal_flag
    else:
        on, off = misfit(True), misfit(False)
        causal = on[1] <= 1.0 or (off[1] > 1.0 and on[1] < off[1])
    err, ratio = misfit(causal)
    if ratio > 1.0:
        other = misfit(not causal)
        hint = (f"; with causal {'off' if causal else 'on'} max abs error {other[0]:.3g} "
                f"({other[1]:.3g} x the bound)" if other[1] <= 1.0 else
                "; neither mask reproduces it: another mask, scale (--scale) or layout (--layout)?")
        raise RecordError(
            f"attention call {index}: expected its output to be softmax attention with causal "
            f"{'on' if causal else 'off'} and scale {scale:.6g} within the float error bound, got "
            f"max abs error {err:.3g} ({ratio:.3g} x the bound){hint}")
    return causal, scale, err, ratio


def parse_layers(text):
    """'0,3' -> [0, 3]."""
    items = text.split(",")
    if not all(item.isdigit() for item in items):
        raise RecordError(f"--layers: expected comma-separated layer numbers, got '{text}'")
    return [int(item) for item in items]


def check_layers(layers, count):
    """The recorded layers: every call when layers is None, else those listed (each < count)."""
    if layers is None:
        return list(range(count))
    chosen = []
    for layer in layers:
        if layer >= count:
            raise RecordError(f"--layers: expected layers among 0..{count - 1} (the model made "
                              f"{count} attention calls), got {layer}")
        if layer in chosen:
            raise RecordError(f"--layers: expected each layer once, got {layer} twice")
        chosen.append(layer)
    if not chosen:
        raise RecordError("--layers: expected at least one layer, got none")
    return chosen


def record(model, ids, out_dir, layers=None, attention_fn=None, attention_module=None,
           causal=None, scale=None, layout="bhld", dtype="float32", safetensors=False,
           describe="", source=""):
    """Runs model(ids) once and writes out_dir (which must not exist). layers: list or None (all).
    causal: None (from the calls or their outputs) or a bool that must agree. Returns the
    manifest dict."""
    import torch
    if os.path.exists(out_dir):
        raise RecordError(f"--out: expected a folder that does not exist yet, got '{out_dir}' "
                          "(existing)")
    if dtype not in ("float32", "float16"):
        raise RecordError(f"--dtype: expected float32 or float16, got '{dtype}'")
    if layout not in ("bhld", "blhd"):
        raise RecordError(f"--layout: expected bhld or blhd, got '{layout}'")
    calls = []
    if attention_fn and attention_module:
        raise RecordError("--attention-fn: expected either --attention-fn or --attention-module, "
                          "got both")
    if attention_fn:
        cap = capture_function(calls, layout, attention_fn)
    elif attention_module:
        cap = capture_modules(calls, layout, model, attention_module)
    else:
        cap = capture_sdpa(calls, layout)
    model.eval()
    with torch.no_grad(), cap:
        model(ids)
    if not calls:
        raise RecordError("model: expected attention calls to record, got none (name the "
                          "attention with --attention-fn or --attention-module)")
    chosen = check_layers(layers, len(calls))
    first = calls[chosen[0]]
    hq, n, d = first.q.shape
    hkv = first.k.shape[0]
    settings, checks = None, {}
    for layer in chosen:
        c = calls[layer]
        for what, got, want in (("q", c.q.shape, (hq, n, d)), ("k", c.k.shape, (hkv, n, d)),
                                ("v", c.v.shape, (hkv, n, d))):
            if tuple(got) != want:
                raise RecordError(
                    f"layer {layer}: expected {what} shaped {list(want)} like layer {chosen[0]}'s "
                    f"([heads, n, head_dim] the same for every recorded layer; n = the tokens), "
                    f"got {list(got)}")
        if hq % hkv:
            raise RecordError(f"layer {layer}: expected q heads to be a multiple of k/v heads, "
                              f"got {hq} and {hkv}")
        mask_scale = check_mask(c, layer, causal, scale)
        if settings is not None and mask_scale[:2] != settings:
            raise RecordError(f"layer {layer}: expected the causal mask and scale of layer "
                              f"{chosen[0]} ({settings}), got {mask_scale[:2]}")
        settings = mask_scale[:2]
        checks[f"layer{layer:02d}"] = {"max_abs_err": mask_scale[2],
                                       "max_err_over_bound": mask_scale[3]}
    is_causal, used_scale = settings
    npdt = np.float16 if dtype == "float16" else np.float32
    parent = os.path.dirname(os.path.abspath(out_dir))
    tmp = os.path.join(parent, f".{os.path.basename(os.path.abspath(out_dir))}.tmp-{os.getpid()}")
    files = {}
    try:
        os.makedirs(tmp)
        for layer in chosen:
            key = f"layer{layer:02d}"
            names = [f"{key}_{x}.npy" for x in "qkv"]
            c = calls[layer]
            arrays = [np.ascontiguousarray(a.astype(npdt)) for a in (c.q, c.k, c.v)]
            for name, a in zip(names, arrays):
                np.save(os.path.join(tmp, name), a)
            files[key] = names
            if safetensors:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                from make_slice import write_safetensors  # the one safetensors writer
                code = "F16" if dtype == "float16" else "F32"
                write_safetensors(os.path.join(tmp, f"{key}.safetensors"),
                                  {x: (code, a.shape, a.astype("<f2" if dtype == "float16" else
                                                               "<f4").tobytes())
                                   for x, a in zip("qkv", arrays)},
                                  {"scale": repr(used_scale),
                                   "causal": "true" if is_causal else "false"})
        manifest = {
            "model": describe,
            "source": source,
            "recorder": f"sim/workload/record_torch.py, torch {torch.__version__}, "
                        + (f"--attention-fn {attention_fn}" if attention_fn else
                           f"--attention-module {attention_module}" if attention_module else
                           "wrapped torch.nn.functional.scaled_dot_product_attention"),
            "n": n,
            "heads": hq,
            "kv_heads": hkv,
            "head_dim": d,
            "layers": chosen,
            "dtype": dtype,
            "model_dtype": first.dtype,
            "layout": "q [heads, n, head_dim], k and v [kv_heads, n, head_dim], C order",
            "q_k": "as the attention consumed them: after rotary, before the scale",
            "causal": is_causal,
            "scale": used_scale,
            "files": files,
            "output_check": checks,
        }
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_tokens(a):
    import torch
    given = [x for x in (a.tokens, a.text, a.text_file) if x is not None]
    if len(given) != 1:
        raise RecordError("input: expected one of --tokens, --text, --text-file, got "
                          f"{len(given)}")
    if a.tokens is not None:
        try:
            if a.tokens.endswith(".npy"):
                ids = [int(x) for x in np.load(a.tokens).reshape(-1)]
            else:
                ids = [int(x) for x in open(a.tokens).read().replace(",", " ").split()]
        except (OSError, ValueError) as e:
            raise RecordError(f"--tokens: expected integers in '{a.tokens}', got {e}")
    else:
        text = a.text if a.text is not None else open(a.text_file, encoding="utf-8").read()
        if a.tokenizer:
            ids = [int(x) for x in load_object(a.tokenizer, "--tokenizer")[2](text)]
        else:
            ids = list(text.encode("utf-8"))
    if a.max_tokens:
        ids = ids[:a.max_tokens]
    if not ids:
        raise RecordError("input: expected at least one token, got none")
    return torch.tensor([ids], dtype=torch.long)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="FILE.py:FACTORY or module:FACTORY")
    p.add_argument("--tokens", help="token ids: a text file of integers or an .npy")
    p.add_argument("--text")
    p.add_argument("--text-file")
    p.add_argument("--tokenizer", help="FILE.py:NAME, NAME(text) -> token ids (default bytes)")
    p.add_argument("--max-tokens", type=int, default=0)
    p.add_argument("--attention-fn")
    p.add_argument("--attention-module")
    p.add_argument("--layers", help="comma-separated (default all)")
    p.add_argument("--causal", choices=["on", "off"])
    p.add_argument("--scale", type=float)
    p.add_argument("--layout", default="bhld")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--safetensors", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    try:
        try:
            import torch  # noqa: F401
        except ImportError:
            torch = None
        if torch is None or np is None:
            raise RecordError(f"{sys.executable}: expected torch and numpy (Debian: apt-get "
                              "install python3-torch python3-numpy), got "
                              f"{'no torch' if torch is None else 'no numpy'}")
        factory = load_object(a.model, "--model")[2]
        model = factory()
        ids = read_tokens(a)
        m = record(model, ids, a.out,
                   layers=None if a.layers is None else parse_layers(a.layers),
                   attention_fn=a.attention_fn, attention_module=a.attention_module,
                   causal=None if a.causal is None else a.causal == "on", scale=a.scale,
                   layout=a.layout, dtype=a.dtype, safetensors=a.safetensors,
                   describe=f"{type(model).__name__} from {a.model}",
                   source=a.text_file or a.tokens or "--text")
    except RecordError as e:
        print(f"record_torch.py: error: {e}", file=sys.stderr)
        return 2
    print(f"record_torch.py: wrote {a.out}: layers {m['layers']}, n={m['n']}, heads={m['heads']}, "
          f"kv_heads={m['kv_heads']}, head_dim={m['head_dim']}, causal={m['causal']}, "
          f"scale={m['scale']:.6g}, {m['dtype']}")
    return 0



if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
