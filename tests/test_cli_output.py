"""Output files: never overwritten without --force, never created through a dangling link."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from derive.cli import main, write_output


def run(*argv: str) -> int:
    return main(list(argv))


def test_an_existing_file_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grads.py"
    out.write_text("mine")
    assert run("export", "nielsen", "-o", str(out)) == 2
    assert out.read_text() == "mine"
    assert "exists; pass --force" in capsys.readouterr().err
    assert run("export", "nielsen", "-o", str(out), "--force") == 0
    assert "def loss_and_gradients" in out.read_text()


def test_a_dangling_symlink_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere.tex"
    link = tmp_path / "doc.tex"
    os.symlink(target, link)
    for extra in ([], ["--force"]):
        assert run("latex", "nielsen", "-o", str(link), *extra) == 2
        assert not target.exists()
    err = capsys.readouterr().err
    assert "a symbolic link to" in err and "does not exist" in err


def test_an_empty_path_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("latex", "nielsen", "-o", "") == 2
    assert capsys.readouterr().err == (
        "derive: error: the output path is empty: give a file name, or - for standard output\n"
    )


def test_a_directory_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("latex", "nielsen", "-o", str(tmp_path)) == 2
    assert capsys.readouterr().err.endswith(": is a directory\n")


def test_a_file_created_after_the_decision_is_not_overwritten(tmp_path: Path) -> None:
    """The exclusive open leaves no window between "it does not exist" and the write."""
    out = tmp_path / "race.tex"
    barrier = threading.Barrier(2)
    results: list[str] = []

    def writer(text: str) -> None:
        barrier.wait()
        try:
            write_output(str(out), text, force=False)
            results.append(text)
        except Exception as err:  # noqa: BLE001 - the loser's error is the point
            results.append(f"error: {err}")

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written = [r for r in results if not r.startswith("error")]
    assert len(written) == 1 and out.read_text() == written[0]
    assert any("exists; pass --force" in r for r in results)


@pytest.mark.parametrize("option", [["check", "nielsen", "--file"], ["show"]])
def test_a_fifo_or_device_is_refused_not_read(
    option: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A named pipe would block forever and /dev/zero never ends: refused before reading."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        assert run(*option, path) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a regular file" in err


def test_a_huge_exact_slope_exports_as_a_float(tmp_path: Path) -> None:
    """slope = 1e308 is read exactly; printed as an int it overflowed NumPy's C long."""
    spec = tmp_path / "slope.toml"
    spec.write_text(
        'input = 3\n[[layers]]\nwidth = 3\nactivation = { name = "leaky_relu", slope = 1e308 }\n'
        '[[layers]]\nwidth = 2\nactivation = "identity"\n'
    )
    assert run("verify", str(spec)) == 0


def test_verify_of_a_symbolic_activation_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("verify", "seed") == 2
    err = capsys.readouterr().err
    assert err.startswith("derive: error: verify runs the exported code, and it cannot be made")
