"""``fastaug demo`` and the built-in test card."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fastaug import cli
from fastaug.cli import main


def test_card_is_a_varied_rgb_image():
    card = cli.test_card(64)
    assert card.shape == (64, 64, 3) and card.dtype == np.uint8
    # Asymmetric on purpose, so flips and rotations are visible.
    assert not np.array_equal(card, card[:, ::-1])
    assert not np.array_equal(card, card[::-1])
    assert len(np.unique(card.reshape(-1, 3), axis=0)) > 20


def test_demo_writes_grid_and_reports_throughput(tmp_path, capsys):
    out = tmp_path / "sub" / "demo.png"
    assert main(["demo", "--out", str(out), "--size", "40", "--count", "6", "--batch", "4"]) == 0
    img = np.asarray(Image.open(out))
    # 6 tiles in a 4-wide grid: 2 rows of 40 px with 4 px padding.
    assert img.shape == (2 * 44 + 4, 4 * 44 + 4, 3)
    text = capsys.readouterr().out
    assert "images/s" in text and str(out) in text
    assert "scipy" in text  # the baseline line, or why it was skipped


def test_demo_rejects_bad_sizes(tmp_path):
    with pytest.raises(SystemExit):
        main(["demo", "--size", "0", "--out", str(tmp_path / "x.png")])
