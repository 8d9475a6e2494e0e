"""The example notebooks: stored without outputs, each with a Colab badge for its own path, an
install cell first and the small-data switch. (scripts/test.sh runs them top to bottom with
nbmake and KMLC_NOTEBOOK_SMOKE=1.)"""

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart_tfidf.ipynb",
    "02_long_tail_db_loss.ipynb",
    "03_bert_finetune.ipynb",
    "04_multiclass_and_multilabel.ipynb",
    "05_export_tf_serving.ipynb",
]


def test_the_five_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_colab_ready(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "outputs must be stripped"
    first_markdown = "".join(cells[0]["source"])
    assert f"colab.research.google.com/github/" in first_markdown
    assert f"/blob/main/examples/{path.name})" in first_markdown
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert "pip install" in code[0] and 'find_spec("kmlc")' in code[0]
    assert any("KMLC_NOTEBOOK_SMOKE" in c for c in code)
    # Explanations between the steps: at least as many markdown cells as a third of the code cells.
    assert sum(c["cell_type"] == "markdown" for c in cells) >= len(code) // 3
