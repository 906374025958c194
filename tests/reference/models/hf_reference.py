"""A self-contained PyTorch re-implementation of Hugging Face transformers' causal LMs for
GPT-2, Llama, Mistral, Qwen2 and Qwen3, and of PEFT's LoRA layer, written from
transformers' modeling_{gpt2,llama,mistral,qwen2,qwen3}.py, modeling_rope_utils.py,
masking_utils.py and peft's tuners/lora/layer.py so that every convention matches:

- parameter names and shapes exactly as HF's named_parameters()/save_pretrained;
- GPT-2: Conv1D weights [in, out] (y = x @ W + b), learned positions, LayerNorm with
  layer_norm_epsilon, gelu_new (tanh approximation), attention scaled by 1/sqrt(head_dim)
  (and 1/(layer+1) with scale_attn_by_inverse_layer_idx), tied lm_head;
- Llama family: RMSNorm computed in fp32 with the weight applied after normalisation, RoPE
  in the rotate_half layout with inv_freq = 1 / theta^(2i/d) and the "linear" and "llama3"
  scalings, GQA through repeat_kv, SwiGLU MLP, optional attention/MLP biases, Qwen2's q/k/v
  biases, Qwen3's per-head q_norm/k_norm applied before RoPE, explicit head_dim;
- sliding windows as masking_utils.sliding_window_overlay (key kept iff kv > q - window), on
  every layer for Mistral and on layer_types == "sliding_attention" for Qwen2/Qwen3;
- LoRA: y = base(x) + lora_B(lora_A(dropout(x))) * alpha / r, A [r, in], B [out, r], for
  Conv1D too (fan_in_fan_out only transposes the merged delta).

Only torch is needed (torch 1.13 works: attention is computed eagerly).
"""
import json
import math
import os
import struct

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------------------------------
# safetensors (format spec: 8-byte little-endian header size N, N bytes of JSON header,
# then the raw little-endian tensor data; offsets are relative to the data section).

_DTYPES = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2)}


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """tensors: list of (name, torch tensor); every tensor is stored as `dtype`."""
    header = {"__metadata__": metadata if metadata is not None else {"format": "pt"}}
    blobs, offset = [], 0
    for name, t in tensors:
        t = t.detach().contiguous()
        if dtype == "F32":
            raw = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        elif dtype == "F16":
            raw = t.to(torch.float16).numpy().astype("<f2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[base + b: base + end]
        if e["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        elif e["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16).float()
        elif e["dtype"] == "F16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f2").copy()).float()
        else:
            raise ValueError(e["dtype"])
        out[name] = t.reshape(e["shape"])
    return out


# ---------------------------------------------------------------------------------------
# Configs: HF's class defaults for the keys a config.json may leave out.

class Config:
    def __init__(self, d):
        self.d = dict(d)
        mt = d["model_type"]
        self.model_type = mt
        if mt == "gpt2":
            self.vocab_size = d["vocab_size"]
            self.hidden_size = d["n_embd"]
            self.num_layers = d["n_layer"]
            self.num_heads = d["n_head"]
            self.num_kv_heads = self.num_heads
            self.head_dim = self.hidden_size // self.num_heads
            self.max_positions = d.get("n_positions", 1024)
            self.intermediate_size = d.get("n_inner") or 4 * self.hidden_size
            self.eps = d.get("layer_norm_epsilon", 1e-5)
            self.act = d.get("activation_function", "gelu_new")
            self.tie = d.get("tie_word_embeddings", True)
            self.scale_attn_weights = d.get("scale_attn_weights", True)
            self.scale_by_layer = d.get("scale_attn_by_inverse_layer_idx", False)
            self.initializer_range = d.get("initializer_range", 0.02)
            return
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.num_layers = d["num_hidden_layers"]
        self.num_heads = d["num_attention_heads"]
        self.num_kv_heads = d.get("num_key_value_heads") or self.num_heads
        default_hd = 128 if mt == "qwen3" else self.hidden_size // self.num_heads
        self.head_dim = d.get("head_dim") or default_hd
        self.intermediate_size = d["intermediate_size"]
        self.eps = d.get("rms_norm_eps", 1e-6)
        self.act = d.get("hidden_act", "silu")
        self.tie = d.get("tie_word_embeddings", False)
        self.initializer_range = d.get("initializer_range", 0.02)
        self.max_positions = d.get("max_position_embeddings", 2048)
        # RoPE: new spelling rope_parameters, old spelling rope_theta + rope_scaling.
        rp = d.get("rope_parameters") or d.get("rope_scaling") or {}
        self.rope_theta = rp.get("rope_theta", d.get("rope_theta", 10000.0))
        self.rope_type = rp.get("rope_type", rp.get("type", "default"))
        self.rope = rp
        self.attention_bias = d.get("attention_bias", False)
        self.mlp_bias = d.get("mlp_bias", False) if mt == "llama" else False
        if mt == "llama":
            self.qkv_bias = self.o_bias = self.attention_bias
        elif mt == "mistral":
            self.qkv_bias = self.o_bias = False
        elif mt == "qwen2":
            self.qkv_bias, self.o_bias = True, False
        elif mt == "qwen3":
            self.qkv_bias = self.o_bias = self.attention_bias
        self.qk_norm = mt == "qwen3"
        # Sliding windows per layer (None = full attention).
        if mt == "mistral":
            self.windows = [d.get("sliding_window")] * self.num_layers
        elif mt in ("qwen2", "qwen3"):
            sw = d.get("sliding_window", 4096) if d.get("use_sliding_window", False) else None
            types = d.get("layer_types") or [
                "sliding_attention" if sw is not None and i >= d.get("max_window_layers", 28)
                else "full_attention" for i in range(self.num_layers)]
            self.windows = [sw if t == "sliding_attention" else None for t in types]
        else:
            self.windows = [None] * self.num_layers


def activation(name):
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name in ("silu", "swish"):
        return nn.functional.silu
    if name == "gelu":
        return nn.functional.gelu
    if name == "relu":
        return nn.functional.relu
    raise ValueError(name)


# ---------------------------------------------------------------------------------------
# Masks: additive [B, 1, Tq, Tk] with 0 (keep) or the dtype minimum (masked), from causal +
# optional sliding window + optional packed-document ids.

def make_mask(batch, seq, window=None, doc_ids=None, dtype=torch.float32):
    q = torch.arange(seq)[:, None]
    k = torch.arange(seq)[None, :]
    keep = k <= q
    if window is not None:
        keep = keep & (k > q - window)
    keep = keep[None, None].expand(batch, 1, seq, seq)
    if doc_ids is not None:
        keep = keep & (doc_ids[:, None, :, None] == doc_ids[:, None, None, :])
    mask = torch.zeros(batch, 1, seq, seq, dtype=dtype)
    return mask.masked_fill(~keep, torch.finfo(dtype).min)


# ---------------------------------------------------------------------------------------
# GPT-2

class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Attention(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        self.cfg, self.layer_idx = cfg, layer_idx
        d = cfg.hidden_size
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)

    def forward(self, h, mask):
        cfg = self.cfg
        B, T, D = h.shape
        q, k, v = self.c_attn(h).split(D, dim=2)
        split = lambda t: t.view(B, T, cfg.num_heads, cfg.head_dim).permute(0, 2, 1, 3)
        q, k, v = split(q), split(k), split(v)
        w = torch.matmul(q, k.transpose(-1, -2))
        if cfg.scale_attn_weights:
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        if cfg.scale_by_layer:
            w = w / float(self.layer_idx + 1)
        w = w + mask
        w = nn.functional.softmax(w, dim=-1)
        o = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(B, T, D)
        return self.c_proj(o)


class GPT2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg.intermediate_size, cfg.hidden_size)
        self.c_proj = Conv1D(cfg.hidden_size, cfg.intermediate_size)
        self.act = activation(cfg.act)

    def forward(self, h):
        return self.c_proj(self.act(self.c_fc(h)))


class GPT2Block(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.eps)
        self.attn = GPT2Attention(cfg, i)
        self.ln_2 = nn.LayerNorm(cfg.hidden_size, eps=cfg.eps)
        self.mlp = GPT2MLP(cfg)

    def forward(self, h, mask):
        h = h + self.attn(self.ln_1(h), mask)
        return h + self.mlp(self.ln_2(h))


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.wpe = nn.Embedding(cfg.max_positions, cfg.hidden_size)
        self.h = nn.ModuleList([GPT2Block(cfg, i) for i in range(cfg.num_layers)])
        self.ln_f = nn.LayerNorm(cfg.hidden_size, eps=cfg.eps)

    def forward(self, ids, pos, doc_ids):
        B, T = ids.shape
        h = self.wte(ids) + self.wpe(pos)
        mask = make_mask(B, T, None, doc_ids)
        for blk in self.h:
            h = blk(h, mask)
        return self.ln_f(h)


class GPT2LMHeadModel(nn.Module):
    base_prefix = "transformer"

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = GPT2Model(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, ids, pos=None, doc_ids=None):
        if pos is None:
            pos = torch.arange(ids.shape[1])[None].expand_as(ids)
        return self.lm_head(self.transformer(ids, pos, doc_ids))

    def init_weights(self, gen):
        """HF GPT2PreTrainedModel._init_weights."""
        std = self.cfg.initializer_range
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif ".ln_" in name or name.startswith("transformer.ln_f"):
                nn.init.ones_(p)
            elif name.endswith("c_proj.weight"):
                p.data.normal_(0.0, std / math.sqrt(2 * self.cfg.num_layers), generator=gen)
            else:
                p.data.normal_(0.0, std, generator=gen)


# ---------------------------------------------------------------------------------------
# Llama, Mistral, Qwen2, Qwen3

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.to(torch.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + self.eps)
        return self.weight * x.to(dtype)


def rope_inv_freq(cfg):
    """modeling_rope_utils: default, linear and llama3 inverse frequencies."""
    dim = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    t = cfg.rope_type
    if t == "default":
        return inv
    if t == "linear":
        return inv / cfg.rope["factor"]
    if t == "llama3":
        factor = cfg.rope["factor"]
        low, high = cfg.rope["low_freq_factor"], cfg.rope["high_freq_factor"]
        old = cfg.rope["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, inv_l)
    raise ValueError(t)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n):
    b, h, s, d = x.shape
    if n == 1:
        return x
    return x[:, :, None].expand(b, h, n, s, d).reshape(b, h * n, s, d)


class Attention(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        self.cfg, self.window = cfg, cfg.windows[i]
        d, hd = cfg.hidden_size, cfg.head_dim
        self.q_proj = nn.Linear(d, cfg.num_heads * hd, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(d, cfg.num_kv_heads * hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(d, cfg.num_kv_heads * hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.num_heads * hd, d, bias=cfg.o_bias)
        if cfg.qk_norm:
            self.q_norm = RMSNorm(hd, cfg.eps)
            self.k_norm = RMSNorm(hd, cfg.eps)

    def forward(self, h, cos, sin, masks):
        cfg = self.cfg
        B, T, _ = h.shape
        shape = (B, T, -1, cfg.head_dim)
        q = self.q_proj(h).view(shape)
        k = self.k_proj(h).view(shape)
        if cfg.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = self.v_proj(h).view(shape).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = cfg.num_heads // cfg.num_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        w = torch.matmul(q, k.transpose(2, 3)) * cfg.head_dim ** -0.5
        w = w + masks[self.window]
        w = nn.functional.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(w, v).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f, b = cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias
        self.gate_proj = nn.Linear(d, f, bias=b)
        self.up_proj = nn.Linear(d, f, bias=b)
        self.down_proj = nn.Linear(f, d, bias=b)
        self.act = activation(cfg.act)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        self.self_attn = Attention(cfg, i)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.eps)

    def forward(self, h, cos, sin, masks):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, masks)
        return h + self.mlp(self.post_attention_layernorm(h))


class DecoderModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg, i) for i in range(cfg.num_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.eps)
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)

    def forward(self, ids, pos, doc_ids):
        B, T = ids.shape
        h = self.embed_tokens(ids)
        freqs = (self.inv_freq[None, :, None].float().expand(B, -1, 1) @ pos[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        masks = {w: make_mask(B, T, w, doc_ids) for w in set(self.cfg.windows)}
        for layer in self.layers:
            h = layer(h, cos, sin, masks)
        return self.norm(h)


class CausalLM(nn.Module):
    base_prefix = "model"

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = DecoderModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, ids, pos=None, doc_ids=None):
        if pos is None:
            pos = torch.arange(ids.shape[1])[None].expand_as(ids)
        return self.lm_head(self.model(ids, pos, doc_ids))

    def init_weights(self, gen):
        """HF PreTrainedModel._init_weights for these families."""
        std = self.cfg.initializer_range
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif "norm" in name:
                nn.init.ones_(p)
            else:
                p.data.normal_(0.0, std, generator=gen)


def build(config_dict):
    cfg = Config(config_dict)
    return GPT2LMHeadModel(cfg) if cfg.model_type == "gpt2" else CausalLM(cfg)


def state_dict_for_save(model):
    """save_pretrained's tensors: parameters in order, tied lm_head dropped."""
    out = []
    for name, p in model.named_parameters():  # shared parameters appear once
        out.append((name, p))
    return out


# ---------------------------------------------------------------------------------------
# LoRA (peft/tuners/lora/layer.py: Linear, with Conv1D handled through fan_in_fan_out).

class LoraLayer(nn.Module):
    def __init__(self, base, r, alpha, dropout=0.0, use_rslora=False):
        super().__init__()
        self.base_layer = base
        conv1d = isinstance(base, Conv1D)
        in_f, out_f = (base.weight.shape if conv1d else (base.in_features, base.out_features))
        self.fan_in_fan_out = conv1d
        self.lora_A = nn.ModuleDict({"default": nn.Linear(in_f, r, bias=False)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(r, out_f, bias=False)})
        self.lora_dropout = nn.ModuleDict({"default": nn.Dropout(dropout) if dropout > 0 else nn.Identity()})
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r

    def forward(self, x):
        out = self.base_layer(x)
        a, b = self.lora_A["default"], self.lora_B["default"]
        return out + b(a(self.lora_dropout["default"](x))) * self.scaling

    def delta_weight(self):
        d = self.lora_B["default"].weight @ self.lora_A["default"].weight * self.scaling
        return d.T if self.fan_in_fan_out else d


def peft_targets(model, target_modules):
    """Module names PEFT's check_target_module_exists selects (list semantics)."""
    names = []
    for name, mod in model.named_modules():
        if not isinstance(mod, (nn.Linear, Conv1D)) or name == "lm_head":
            continue
        if name in target_modules or any(name.endswith("." + t) for t in target_modules):
            names.append(name)
    return names


def add_lora(model, target_modules, r, alpha, dropout=0.0, use_rslora=False):
    """Wraps the targeted modules; returns {module name: LoraLayer}."""
    wrapped = {}
    for name in peft_targets(model, target_modules):
        parent_name, child = name.rsplit(".", 1)
        parent = model.get_submodule(parent_name)
        layer = LoraLayer(getattr(parent, child), r, alpha, dropout, use_rslora)
        setattr(parent, child, layer)
        wrapped[name] = layer
    return wrapped


def lora_saved_name(module, which):
    """The tensor name in adapter_model.safetensors (PEFT strips the adapter name)."""
    return "base_model.model.%s.lora_%s.weight" % (module, which)
