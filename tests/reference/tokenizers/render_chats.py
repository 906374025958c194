"""Renders chat templates with Jinja2 set up as transformers sets it up for
apply_chat_template (sandboxed, trim_blocks, lstrip_blocks, loop controls, its tojson,
raise_exception and strftime_now), the engine the models' templates are written for.

usage: render_chats.py CORPUS.json TOKENIZERS_DIR NAME... ; prints JSON to stdout:
{"NAME": [{"messages_index", "add_generation_prompt", "prompt"}...], "templates/X.jinja": [...]}
Extra templates: EXTRA=path1:path2 renders those too (with no special tokens).
"""
import json, os, sys
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now


def token(v):
    return v.get("content") if isinstance(v, dict) else v


def render_all(template, specials, chats):
    t = env.from_string(template)
    out = []
    for k, messages in enumerate(chats):
        for gen in (False, True):
            out.append({"messages_index": k, "add_generation_prompt": gen,
                        "prompt": t.render(messages=messages, tools=None, documents=None,
                                           add_generation_prompt=gen, **specials)})
    return out


corpus = json.load(open(sys.argv[1]))
result = {}
for name in sys.argv[3:]:
    config = json.load(open(os.path.join(sys.argv[2], name, "tokenizer_config.json")))
    template = config.get("chat_template")
    if isinstance(template, list):
        template = next((t["template"] for t in template if t["name"] == "default"), None)
    if not template:
        continue
    specials = {k: token(config[k]) for k in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                                              "cls_token", "mask_token") if config.get(k) is not None}
    if "additional_special_tokens" in config:
        specials["additional_special_tokens"] = [token(t) for t in config["additional_special_tokens"]]
    result[name] = render_all(template, specials, corpus["chats"])
for path in filter(None, os.environ.get("EXTRA", "").split(":")):
    result["templates/" + os.path.basename(path)] = render_all(open(path).read(), {"bos_token": "<s>", "eos_token": "</s>"},
                                                               corpus["chats"])
print(json.dumps(result))
