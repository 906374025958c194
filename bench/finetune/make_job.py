"""Sets up bench/finetune in OUT_DIR: the tiny Llama of bench-notes.md (vocab 8192, hidden 256,
4 layers, 8 heads / 4 KV heads, MLP 688) as a Hugging Face model directory, written by
tests/reference/models/hf_reference.py (HF's init); a dataset of ROWS rows x 256 random tokens
written directly in egret-data's documented HDF5 layout (mpi_trainer/data/README.md); and
job.toml for egret-train. The PyTorch baseline (torch_finetune.py) reads the same files.
usage: make_job.py OUT_DIR [ROWS]"""
import json, os, sys

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reference", "models"))
import hf_reference as ref  # noqa: E402

CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 8192, "hidden_size": 256,
          "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4, "intermediate_size": 688,
          "max_position_embeddings": 1024, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
          "tie_word_embeddings": False, "initializer_range": 0.02, "torch_dtype": "float32"}
SEQ = 256
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    os.makedirs(out + "/model", exist_ok=True)
    with open(out + "/model/config.json", "w") as f:
        json.dump(CONFIG, f, indent=2)
    model = ref.build(CONFIG)
    model.init_weights(torch.Generator().manual_seed(1))
    ref.write_safetensors(out + "/model/model.safetensors", ref.state_dict_for_save(model))

    ids = np.random.RandomState(7).randint(0, CONFIG["vocab_size"], size=(rows, SEQ)).astype(np.int32)
    with h5py.File(out + "/train.h5", "w") as f:
        f.attrs["format"] = "egret-dataset"
        f.attrs["format_version"] = np.int64(1)
        m = f.create_group("meta").attrs
        for k, v in {"tokenizer_sha256": "bench-random", "source_sha256": "bench-random", "source_name": "random",
                     "split": "all", "split_by": "none", "overflow": "split"}.items():
            m[k] = v
        m["split_fraction"] = 0.0
        counts = {"format_version": 1, "split_seed": 0, "seq_len": SEQ, "pad_id": 0, "lines_total": rows,
                  "lines_skipped": 0, "lines_other_split": 0, "lines_used": rows, "text_examples": rows,
                  "prompt_completion_examples": 0, "chat_examples": 0, "documents": rows, "tokens": rows * SEQ,
                  "target_tokens": rows * (SEQ - 1), "rows": rows, "documents_split": 0, "documents_truncated": 0,
                  "documents_dropped": 0}
        for k, v in counts.items():
            m[k] = np.int64(v)
        d = f.create_group("documents")
        d["tokens"] = ids.reshape(-1)
        d["loss_mask"] = np.ones(rows * SEQ, np.uint8)
        d["offsets"] = np.arange(rows + 1, dtype=np.int64) * SEQ
        d["source_line"] = np.arange(1, rows + 1, dtype=np.int64)
        r = f.create_group("rows")
        labels = ids.copy()
        labels[:, 0] = -100
        r["input_ids"], r["labels"] = ids, labels
        r["position_ids"] = np.tile(np.arange(SEQ, dtype=np.int32), (rows, 1))
        r["document_ids"] = np.repeat(np.arange(rows, dtype=np.int32)[:, None], SEQ, axis=1)
        r["segments"] = np.stack([np.arange(rows), np.zeros(rows), np.full(rows, SEQ), np.arange(rows),
                                  np.zeros(rows)], axis=1).astype(np.int64)
    with open(out + "/job.toml", "w") as f:
        f.write('version = 1\n[model]\npath = "model"\n[data]\ntrain = "train.h5"\n[output]\ndir = "out"\n'
                'plot = false\n[train]\nmode = "lora"\nseed = 1\nsteps = 10\nmicro_batch_size = 4\n'
                'global_batch_size = 4\nmax_grad_norm = 1.0\n[lora]\nr = 16\nalpha = 32\ndropout = 0.05\n'
                'target_modules = %s\n[optimizer]\nlr = 1e-4\nweight_decay = 0.01\n[schedule]\nkind = "constant"\n'
                '[checkpoint]\nevery_steps = 0\nkeep_last = 1\n' % json.dumps(LORA_TARGETS))


if __name__ == "__main__":
    main()
