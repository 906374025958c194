"""Writes the model fixtures under tests/fixtures/models/: tiny random-initialised Hugging Face
models of every family Egret runs, and the outputs an independent implementation gives for
them, which Egret's C++ must reproduce (tests/trainer/model_reference_test.cc).

    /usr/bin/python3 tests/reference/models/make_fixtures.py [OUT_DIR]
    /usr/bin/python3 tests/reference/models/make_fixtures.py score MODEL_DIR TOKENS.json [ADAPTER_DIR]

The second form scores files Egret wrote (a fine-tuned PEFT adapter, merged weights) with the
same independent implementation, for the fine-tuning interop tests (tests/finetune/).

Two implementations can produce the expected values:

1. transformers + peft, when both are importable: AutoModelForCausalLM.from_config(...,
   attn_implementation="eager") loaded with the generated weights, save_pretrained() for the
   files, get_peft_model() + save_pretrained() for the adapters, and HF's own forward and
   autograd for the expectations (the model is re-read with from_pretrained, so HF's loader
   also vouches for the files).
2. Otherwise hf_reference.py beside this script: a self-contained PyTorch re-implementation
   of the HF modeling code for the five families and of PEFT's LoRA layer (see its
   docstring for the conventions it reproduces), with files written per the safetensors
   spec and config.json as save_pretrained writes it.

The committed fixtures were produced by path 2 (Debian's python3-torch 1.13 CPU; transformers
and peft are not installable on the build machines). To regenerate them with real
transformers, run the same command on a machine with torch, transformers and peft installed
(e.g. the GPU machine); the test tolerances (logits 1e-4 abs, loss 1e-5 rel, gradient norms
1e-3 rel) hold for either path. Expected gradients come from torch autograd, independent of
Egret's hand-written backward.

Weights: HF's _init_weights (normal(0, initializer_range), zero biases, unit norms), then
norm weights and biases perturbed (1 + 0.1 N(0,1), 0.05 N(0,1)) so that their effect and
gradients are tested too. The BF16 model's weights are rounded to bf16 before the
expectations are computed (fp32 compute on bf16 weights, as from_pretrained(torch_dtype=
torch.float32) does).
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402

try:
    import transformers  # noqa: F401
    import peft  # noqa: F401
    HAVE_HF = True
except ImportError:
    HAVE_HF = False

PROBE = 8
VOCAB = 211


def llama_like(model_type, arch, **kw):
    c = {"architectures": [arch], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
         "hidden_act": "silu", "initializer_range": 0.1, "max_position_embeddings": 64,
         "model_type": model_type, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
         "torch_dtype": "float32", "transformers_version": "4.46.3", "use_cache": True,
         "vocab_size": VOCAB}
    c.update(kw)
    return dict(sorted(c.items()))


CASES = [
    dict(name="gpt2", seed=11, gen=(5, 8), packed=(5, 7),
         lora=dict(targets=["c_attn", "c_proj", "c_fc"], r=4, alpha=8, rslora=False),
         config={"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
                 "attn_pdrop": 0.0, "bos_token_id": 0, "embd_pdrop": 0.0, "eos_token_id": 0,
                 "initializer_range": 0.2, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
                 "n_embd": 48, "n_head": 3, "n_inner": 100, "n_layer": 2, "n_positions": 32,
                 "reorder_and_upcast_attn": False, "resid_pdrop": 0.0,
                 "scale_attn_by_inverse_layer_idx": True, "scale_attn_weights": True,
                 "summary_activation": None, "summary_first_dropout": 0.0,
                 "summary_proj_to_labels": True, "summary_type": "cls_index",
                 "summary_use_proj": True, "torch_dtype": "float32",
                 "transformers_version": "4.46.3", "use_cache": True, "vocab_size": VOCAB}),
    # GQA, untied, llama3 rope scaling whose wavelength bands fall inside head_dim 16.
    dict(name="llama_gqa_llama3", seed=12, gen=(6, 8), packed=(5, 7),
         lora=dict(targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                   r=4, alpha=16, rslora=False),
         config=llama_like("llama", "LlamaForCausalLM", hidden_size=64, num_attention_heads=4,
                           num_key_value_heads=2, head_dim=16, intermediate_size=100,
                           num_hidden_layers=2, attention_bias=False, mlp_bias=False,
                           pretraining_tp=1, tie_word_embeddings=False,
                           rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                         "original_max_position_embeddings": 16, "rope_type": "llama3"})),
    # MHA, odd sizes, tied, every bias, old "type" spelling of linear scaling, BF16 on disk.
    dict(name="llama_mha_bias_bf16", seed=13, gen=(4, 8), packed=(6, 6), dtype="BF16",
         config=llama_like("llama", "LlamaForCausalLM", hidden_size=48, num_attention_heads=3,
                           num_key_value_heads=3, intermediate_size=100, num_hidden_layers=2,
                           attention_bias=True, mlp_bias=True, pretraining_tp=1,
                           tie_word_embeddings=True, torch_dtype="bfloat16", initializer_range=0.25,
                           rope_scaling={"type": "linear", "factor": 2.0})),
    # MQA, a sliding window shorter than the rows, sharded checkpoint with an index.
    dict(name="mistral_swa_sharded", seed=14, gen=(8, 8), packed=(7, 5), shards=2,
         config=llama_like("mistral", "MistralForCausalLM", hidden_size=64, num_attention_heads=4,
                           num_key_value_heads=1, head_dim=16, intermediate_size=96,
                           num_hidden_layers=2, sliding_window=5, tie_word_embeddings=False)),
    # q/k/v biases, tied, sliding window on layers >= max_window_layers.
    dict(name="qwen2_swa_tied", seed=15, gen=(6, 8), packed=(4, 8),
         config=llama_like("qwen2", "Qwen2ForCausalLM", hidden_size=48, num_attention_heads=4,
                           num_key_value_heads=2, intermediate_size=100, num_hidden_layers=2,
                           use_sliding_window=True, sliding_window=4, max_window_layers=1,
                           tie_word_embeddings=True, rope_theta=1000000.0, initializer_range=0.25)),
    # head_dim 24 != 64 / 4, q_norm/k_norm; the newer config spelling (rope_parameters, dtype,
    # layer_types) as recent transformers writes it. LoRA with use_rslora.
    dict(name="qwen3_headdim", seed=16, gen=(6, 8), packed=(8, 4),
         lora=dict(targets=["q_proj", "v_proj", "down_proj"], r=2, alpha=4, rslora=True),
         config=dict(sorted({
             "architectures": ["Qwen3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
             "bos_token_id": 1, "dtype": "float32", "eos_token_id": 2, "head_dim": 24,
             "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.1,
             "intermediate_size": 100, "layer_types": ["full_attention", "full_attention"],
             "max_position_embeddings": 64, "max_window_layers": 2, "model_type": "qwen3",
             "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
             "rms_norm_eps": 1e-06, "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
             "sliding_window": None, "tie_word_embeddings": False, "transformers_version": "5.0.0",
             "use_cache": True, "use_sliding_window": False, "vocab_size": VOCAB}.items()))),
]

ROWS, SEQ = 3, 12


def perturb(model, gen):
    for name, p in model.named_parameters():
        if name.endswith(".bias"):
            p.data.normal_(0.0, 0.05, generator=gen)
        elif "norm" in name or ".ln_" in name or "ln_f" in name:
            p.data.add_(0.1 * torch.randn(p.shape, generator=gen))


def clean_name(name):
    """HF parameter name of a (possibly LoRA-wrapped) base parameter."""
    return name.replace(".base_layer.", ".")


# ---------------------------------------------------------------------------------------

def write_model(case, state, out):
    """Files as save_pretrained writes them; returns the state as read back from disk."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(case["config"], f, indent=2, sort_keys=True)
        f.write("\n")
    dtype = case.get("dtype", "F32")
    shards = case.get("shards", 1)
    if shards == 1:
        ref.write_safetensors(os.path.join(out, "model.safetensors"), state, dtype)
    else:
        per = math.ceil(len(state) / shards)
        weight_map, total = {}, 0
        for s in range(shards):
            fname = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
            part = state[s * per:(s + 1) * per]
            ref.write_safetensors(os.path.join(out, fname), part, dtype)
            for name, t in part:
                weight_map[name] = fname
                total += t.numel() * (2 if dtype == "BF16" else 4)
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                      f, indent=2)
            f.write("\n")
    loaded = {}
    for fn in sorted(os.listdir(out)):
        if fn.endswith(".safetensors"):
            loaded.update(ref.read_safetensors(os.path.join(out, fn)))
    return loaded


def make_impl(case, loaded, out):
    """The model that computes the expectations: HF's (path 1) or the reference (path 2)."""
    if HAVE_HF:
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(out, torch_dtype=torch.float32,
                                                     attn_implementation="eager")
        fwd = lambda m, ids, pos: m(input_ids=ids, position_ids=pos).logits
    else:
        model = ref.build(case["config"])
        missing, unexpected = model.load_state_dict(loaded, strict=False)
        assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
        fwd = lambda m, ids, pos: m(ids, pos)
    model.eval()  # no dropout; gradients still flow
    return model, fwd


def add_adapter(case, model, gen, adapter_dir):
    """LoRA on `model` (B non-zero) saved as PEFT does; returns the model to evaluate and
    {saved tensor name: parameter}."""
    lc = case["lora"]
    os.makedirs(adapter_dir, exist_ok=True)
    gpt2 = case["config"]["model_type"] == "gpt2"
    if HAVE_HF:
        from peft import LoraConfig, get_peft_model
        pm = get_peft_model(model, LoraConfig(r=lc["r"], lora_alpha=lc["alpha"], lora_dropout=0.0,
                                              target_modules=lc["targets"], use_rslora=lc["rslora"],
                                              fan_in_fan_out=gpt2, task_type="CAUSAL_LM"))
        params = {}
        for name, p in pm.named_parameters():
            if "lora_" in name:
                if "lora_B" in name:
                    p.data.normal_(0.0, 0.05, generator=gen)
                params[name.replace(".default", "")] = p
        pm.save_pretrained(adapter_dir, safe_serialization=True)
        pm.eval()
        return pm, params
    wrapped = ref.add_lora(model, lc["targets"], lc["r"], lc["alpha"], 0.0, lc["rslora"])
    params = {}
    for module, layer in wrapped.items():
        a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight
        bound = 1.0 / math.sqrt(a.shape[1])  # kaiming_uniform_(a=sqrt(5))
        a.data.uniform_(-bound, bound, generator=gen)
        b.data.normal_(0.0, 0.05, generator=gen)
        params[ref.lora_saved_name(module, "A")] = a
        params[ref.lora_saved_name(module, "B")] = b
    ref.write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), list(params.items()))
    config = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": None,
              "bias": "none", "fan_in_fan_out": gpt2, "inference_mode": True,
              "init_lora_weights": True, "layers_pattern": None, "layers_to_transform": None,
              "lora_alpha": lc["alpha"], "lora_dropout": 0.0, "modules_to_save": None,
              "peft_type": "LORA", "r": lc["r"], "rank_pattern": {}, "revision": None,
              "target_modules": lc["targets"], "task_type": "CAUSAL_LM", "use_dora": False,
              "use_rslora": lc["rslora"]}
    with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    model.eval()
    return model, params


def greedy(model, fwd, prompt, n):
    """Greedy decoding by full re-evaluation (no cache), with the smallest top-2 margin."""
    ids = list(prompt)
    margin = float("inf")
    with torch.no_grad():
        for _ in range(n):
            t = torch.tensor([ids])
            logits = fwd(model, t, torch.arange(len(ids))[None])[0, -1]
            top = torch.topk(logits, 2).values
            margin = min(margin, float(top[0] - top[1]))
            ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], margin


def score(model, fwd, rows, named_params, gen):
    """mean/per-row loss, probe logits, gradient norms of mean_loss and greedy tokens."""
    ids = torch.tensor(rows)
    pos = torch.arange(ids.shape[1])[None].expand_as(ids)
    model.zero_grad(set_to_none=True)
    logits = fwd(model, ids, pos).float()
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                            ids[:, 1:].reshape(-1), reduction="none").view(ids.shape[0], -1)
    mean = nll.mean()
    mean.backward()
    out = {"mean_loss": mean.item(), "seq_loss": nll.mean(1).tolist(),
           "logits": logits[..., :PROBE].tolist(),
           "grad_norms": {n: p.grad.norm().item() for n, p in named_params.items()}}
    prompt_len, n_new = gen
    out["generated"], margin = greedy(model, fwd, rows[0][:prompt_len], n_new)
    assert margin > 1e-3, "greedy continuation too close to a tie (%g); change the seed" % margin
    out["args"] = {"probe": PROBE, "generate": n_new, "prompt_len": prompt_len, "min_top2_margin": margin}
    return out


def packed_case(model, fwd, named_params, docs):
    """Two documents packed into one row == the documents run separately."""
    model.zero_grad(set_to_none=True)
    logits, total, count = [], 0.0, 0
    for d in docs:
        ids = torch.tensor([d])
        lg = fwd(model, ids, torch.arange(len(d))[None]).float()
        total = total + torch.nn.functional.cross_entropy(lg[0, :-1], ids[0, 1:], reduction="sum")
        count += len(d) - 1
        logits += lg[0, :, :PROBE].tolist()
    (total / count).backward()
    tokens = [t for d in docs for t in d]
    return {"tokens": tokens,
            "positions": [i for d in docs for i in range(len(d))],
            "doc_ids": [k for k, d in enumerate(docs) for _ in d],
            "labels": [d[i + 1] if i + 1 < len(d) else -100 for d in docs for i in range(len(d))],
            "logits": logits, "loss_sum": total.item(), "targets": count,
            "grad_norms": {n: p.grad.norm().item() for n, p in named_params.items()}}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def make_case(case, root):
    out = os.path.join(root, case["name"])
    shutil.rmtree(out, ignore_errors=True)
    gen = torch.Generator().manual_seed(case["seed"])
    base = ref.build(case["config"])
    base.init_weights(gen)
    perturb(base, gen)
    state = ref.state_dict_for_save(base)
    loaded = write_model(case, state, out)
    rng = np.random.RandomState(case["seed"])
    rows = rng.randint(0, VOCAB, size=(ROWS, SEQ)).tolist()
    write_json(os.path.join(out, "tokens.json"), rows)

    model, fwd = make_impl(case, loaded, out)
    params = {clean_name(n): p for n, p in model.named_parameters()}
    expected = score(model, fwd, rows, params, case["gen"])
    if "packed" in case:
        a, b = case["packed"]
        docs = [rng.randint(0, VOCAB, size=a).tolist(), rng.randint(0, VOCAB, size=b).tolist()]
        expected["packed"] = packed_case(model, fwd, params, docs)
    write_json(os.path.join(out, "expected.json"), expected)

    if "lora" in case:
        model, fwd = make_impl(case, loaded, out)
        for p in model.parameters():
            p.requires_grad_(False)
        pm, lora_params = add_adapter(case, model, gen, os.path.join(out, "adapter"))
        write_json(os.path.join(out, "adapter_expected.json"), score(pm, fwd, rows, lora_params, case["gen"]))
    print("wrote %s (%s)" % (out, "transformers+peft" if HAVE_HF else "reference implementation"))


def make_adamw(root):
    """torch.optim.AdamW on two parameters (one decayed, one not) for three steps."""
    torch.manual_seed(5)
    w = torch.nn.Parameter(torch.randn(6))
    b = torch.nn.Parameter(torch.randn(3))
    init = {"w": w.tolist(), "x.bias": b.tolist()}
    cfg = {"lr": 0.01, "betas": [0.9, 0.95], "eps": 1e-6, "weight_decay": 0.1}
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": cfg["weight_decay"]},
                             {"params": [b], "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"])
    steps = []
    for _ in range(3):
        gw, gb = torch.randn(6), torch.randn(3)
        w.grad, b.grad = gw.clone(), gb.clone()
        opt.step()
        steps.append({"grads": {"w": gw.tolist(), "x.bias": gb.tolist()},
                      "params": {"w": w.tolist(), "x.bias": b.tolist()}})
    write_json(os.path.join(root, "adamw.json"), {"config": cfg, "init": init, "steps": steps})


def load_for_scoring(model_dir, adapter_dir=None):
    """A saved model (and PEFT adapter directory) as transformers+peft load them (path 1) or
    as the reference re-implementation does (path 2): config.json + *.safetensors, then
    adapter_config.json + adapter_model.safetensors."""
    if HAVE_HF:
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                     attn_implementation="eager")
        if adapter_dir:
            from peft import PeftModel
            model = PeftModel.from_pretrained(model, adapter_dir)
        model.eval()
        return model, lambda m, ids, pos: m(input_ids=ids, position_ids=pos).logits
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = ref.build(config)
    state = {}
    for fn in sorted(os.listdir(model_dir)):
        if fn.endswith(".safetensors"):
            state.update(ref.read_safetensors(os.path.join(model_dir, fn)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    if adapter_dir:
        with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
            ac = json.load(f)
        targets = ac["target_modules"]
        assert isinstance(targets, list), "reference path: list target_modules only"
        wrapped = ref.add_lora(model, targets, ac["r"], ac["lora_alpha"], 0.0, ac.get("use_rslora", False))
        saved = ref.read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
        saved = {k.replace(".default.", "."): v for k, v in saved.items()}
        for module, layer in wrapped.items():
            for which, lin in (("A", layer.lora_A["default"]), ("B", layer.lora_B["default"])):
                lin.weight.data.copy_(saved.pop(ref.lora_saved_name(module, which)))
        assert not saved, "adapter tensors for no targeted module: %s" % sorted(saved)
    model.eval()
    return model, lambda m, ids, pos: m(ids, pos)


def score_cli(args):
    """score MODEL_DIR TOKENS.json [ADAPTER_DIR]: prints {"mean_loss", "seq_loss", "logits"
    (the first PROBE vocabulary logits at every position)} for equal-length rows, as
    `egret-train score --probe PROBE` does, so tests can compare files Egret wrote."""
    model_dir, tokens = args[0], args[1]
    adapter_dir = args[2] if len(args) > 2 else None
    with open(tokens) as f:
        rows = json.load(f)
    model, fwd = load_for_scoring(model_dir, adapter_dir)
    ids = torch.tensor(rows)
    pos = torch.arange(ids.shape[1])[None].expand_as(ids)
    with torch.no_grad():
        logits = fwd(model, ids, pos).float()
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                            ids[:, 1:].reshape(-1), reduction="none").view(ids.shape[0], -1)
    print(json.dumps({"mean_loss": nll.mean().item(), "seq_loss": nll.mean(1).tolist(),
                      "logits": logits[..., :PROBE].tolist(),
                      "implementation": "transformers+peft" if HAVE_HF else "reference"}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "score":
        torch.set_num_threads(1)
        score_cli(sys.argv[2:])
        return
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "fixtures", "models")
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    torch.set_num_threads(1)
    for case in CASES:
        make_case(case, root)
    make_adamw(root)


if __name__ == "__main__":
    main()
