import json
import math

from lib import results


def test_non_finite_values_become_strings_anywhere(tmp_path):
    path = results.write_json(
        tmp_path / "a" / "r.json", {"x": math.inf, "h": [{"v": math.nan}, 1.5], "t": (-math.inf,)}
    )
    assert json.loads(path.read_text()) == {"x": "inf", "h": [{"v": "nan"}, 1.5], "t": ["-inf"]}


def test_environment_names_the_machine():
    env = results.environment()
    assert env["cpu"] and env["torch_version"] and env["date"][:2] == "20"


def test_machine_names_the_cpu_its_instructions_threads_and_torch():
    import torch

    line = results.machine()
    assert line.startswith(f"{results.cpu_model()} ({results.vector_isa()}, ")
    assert line.endswith(f", {torch.get_num_threads()} threads), torch {torch.__version__}")


def test_vector_isa_reads_the_cpu_flags():
    assert results.vector_isa("processor : 0\nflags : fpu sse2 avx avx2 fma avx512f avx512bw\n") == "AVX-512"
    assert results.vector_isa("flags\t\t: fpu sse2 avx avx2 fma\n") == "AVX2"
    assert results.vector_isa("flags : fpu sse2\n") == "other" and results.vector_isa("") == "other"
    assert results.environment()["cpu_vector"] in ("AVX-512", "AVX2", "other")


def test_progress_goes_to_its_file_and_nowhere_else(monkeypatch, tmp_path, capfd):
    from tqdm.std import tqdm as text_tqdm

    from lib import progress

    monkeypatch.delenv("PROGRESS", raising=False)
    assert progress.log_path() is None
    log = tmp_path / "progress.log"
    monkeypatch.setenv("PROGRESS", str(log))
    with progress.bar(total=2, desc="decoding test", disable=False, mininterval=1) as b:
        assert type(b) is text_tqdm and b.mininterval == progress.LOG_INTERVAL_S
        b.update(2)
    assert "decoding test" in log.read_text()
    out, err = capfd.readouterr()  # nothing on the process's own streams, which a kernel forwards to the cell
    assert "decoding" not in out + err


def test_a_text_cell_is_empty_where_the_csv_or_pandas_left_none():
    assert results.text_cell({"error": "timeout"}, "error") == "timeout"
    assert results.text_cell({"error": ""}, "error") == "" and results.text_cell({"error": float("nan")}, "error") == ""
    assert results.text_cell({}, "error") == ""
