"""`kmlc train --stream`: the `TableStream` of a config, its settings checked before any work."""

from kmlc.data import DEFAULT_LABEL_SEP
from kmlc.errors import KmlcInputError
from kmlc.families import get_family
from kmlc.groups import LabelSchema
from kmlc.streaming.table import DEFAULT_CHUNK_ROWS, TableStream, positive_int

# The config keys of `kmlc train` (None: the default, `DEFAULT_CHUNK_ROWS` and the like).
CONFIG_KEYS = ("stream_sample_rows", "stream_validation_rows", "stream_chunk_rows", "stream_shuffle_rows")


# ----------------------------------------------------------------------------- command line


def open_config_stream(config, demo_data):
    """The `TableStream` of a `kmlc train` config with `stream: true` (None without it), or a
    clear error for a setting that does not go with streaming: before any work."""
    given = [key for key in CONFIG_KEYS if config.get(key) is not None]
    if not config.get("stream"):
        if given:
            flags = [f"--{key.replace('_', '-')}" for key in given]
            raise KmlcInputError(f"Expected --stream with {flags}, Received: no --stream.")
        return None
    if config.get("data") in (None, demo_data):
        raise KmlcInputError(
            "Expected --data FILE (.csv, .tsv, .jsonl or .parquet) with --stream, Received: the bundled "
            "demo data, which is generated in memory."
        )
    if config.get("drop_duplicates"):
        raise KmlcInputError(
            "Expected no --drop-duplicates with --stream (finding repeated texts needs them all in memory), "
            "Received: --drop-duplicates. Remove duplicates from the file first, or train without --stream."
        )

    if config.get("stream_sample_rows") is not None and not get_family(config.get("model", "tfidf")).learns_vocabulary:
        raise KmlcInputError(
            f"Expected no --stream-sample-rows with --model {config.get('model')} (only TF-IDF learns a "
            f"vocabulary), Received: --stream-sample-rows {config['stream_sample_rows']}."
        )
    for key in CONFIG_KEYS:
        if config.get(key) is not None:
            low = 0 if (key == "stream_validation_rows" and config.get("val")) else 1
            positive_int(f"--{key.replace('_', '-')}", config[key], low=low)

    label_sep = DEFAULT_LABEL_SEP if config.get("label_sep") is None else config["label_sep"]
    schema = LabelSchema.parse(config["label_groups"], config.get("group_weights")) if config.get("label_groups") else None
    return TableStream(
        config["data"], config.get("text_columns") or ["text"], config.get("label_column") or "labels",
        label_sep, label_schema=schema, drop_invalid_rows=bool(config.get("drop_invalid_rows")),
        chunk_rows=config.get("stream_chunk_rows") or DEFAULT_CHUNK_ROWS,
    )
