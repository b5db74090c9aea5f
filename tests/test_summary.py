import json

import pytest

from lib import summary

RUN = {
    "run_name": "dense", "model": "dense", "n_params": 803604, "config": {"optimizer": "closed_form", "lr": 1e-3,
    "batch_size": 64}, "sizes": {"train": 45000, "val": 5000, "test": 10000, "synthetic_train": 500},
    "loss_minimised": "sse", "synthetic_families": ["noise"], "stopped_by": "tolerance_rule", "epochs": 1,
    "train_seconds": 12.34,
    "test_mae_gray": 1.9e-5, "test_max_gray": 2.1e-4, "test_exact8": 0.99998,
    "fidelity": [{"images": "CIFAR-10 test", "max_gray": 2.1e-4, "exact8_pct": 99.998},
                 {"images": "noise", "max_gray": 3.5e-4, "exact8_pct": 99.9963},
                 {"images": "blocks", "max_gray": 1.0e-4, "exact8_pct": 99.9990}],
    "cpu": "Test CPU", "torch_threads": 2, "torch_version": "2.x", "date": "2026-11-28T12:00:00", "data_source": "here",
}  # fmt: skip


def test_summary_reads_the_numbers_of_the_run(tmp_path):
    (tmp_path / "train_dense.json").write_text(json.dumps(RUN))
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `dense`"))
    for cell in ("closed form (+500 noise)", "tolerance_rule", "12.3", "0.00021", "99.998", "0.00035", "99.996"):
        assert cell in row, cell
    assert "Test CPU" in text and "2026-11-28" in text


def test_summary_needs_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results"):
        summary.write(tmp_path, tmp_path / "SUMMARY.md")
