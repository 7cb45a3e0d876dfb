"""Regressions the property tests of images, sound, text, generation and imports found
(issue 14, point 4), pinned as plain examples: each is a clean success or one ``error:``
sentence (exit 2), never ``internal error``, a warning or a file left behind."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from .fuzzrun import Workdir
from .harness import check_invariant, files_in, run_cli
from .interop_strategies import mlp_model
from .media_seeds import image_seeds, interop_seeds, text_seeds


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("example-seeds")
    image_seeds(folder)
    text_seeds(folder)
    interop_seeds(folder)
    (folder / "m.onnx").write_bytes(mlp_model())
    return folder


def _run(folder: Path, *argv, outputs=()):
    before = files_in(folder)
    outcome = run_cli(*argv)
    check_invariant(outcome, [folder / o for o in outputs], folder, before)
    return outcome


def test_palette_images_leave_no_open_file(seeds):
    """Decoding replaced the opened image by its converted copy and closed only the copy: a
    ResourceWarning for every GIF (palette) image, even the valid ones of the seed."""
    with Workdir(seeds) as d:
        out = _run(d, "predict", "img.npz", "--data", "imgs/dark/3.gif", "--out", "o.csv")
        assert out.code == 0 and (d / "o.csv").is_file()


def test_float_image_with_nan_pixels_is_skipped_with_the_reason(seeds):
    from PIL import Image

    arr = np.full((8, 8), 40.0, np.float32)
    arr[2, 3] = np.nan
    with Workdir(seeds) as d:
        Image.fromarray(arr).save(d / "imgs" / "dark" / "nan.tif")
        out = _run(d, "evaluate", "img.npz", "--data", "imgs")
        assert out.code == 0
        assert "nan.tif: holds non-finite pixel values" in out.err


def test_corrupt_exif_is_ignored_without_a_warning(seeds):
    """A JPEG whose EXIF tag claims 5,000 bytes: Pillow warned (a UserWarning on stderr)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = "a long description here"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buf, "JPEG", exif=exif.tobytes())
    data = bytearray(buf.getvalue())
    k = data.find(b"\x01\x0e\x00\x02")  # the tag's entry (big-endian): its count follows
    data[k + 4:k + 8] = (5000).to_bytes(4, "big")
    with Workdir(seeds) as d:
        (d / "imgs" / "dark" / "exif.jpg").write_bytes(bytes(data))
        out = _run(d, "predict", "img.npz", "--data", "imgs/dark/exif.jpg", "--out", "o.csv")
        assert out.code == 0


@pytest.mark.parametrize(("temperature", "seed", "message"), [
    ("inf", "0", "temperature must be a number above 0"),
    ("nan", "0", "temperature must be a number above 0"),
    ("1e-300", "0", None),  # greedy: no overflow warning
    ("1e300", "0", None),
    ("1.0", "-1", "the seed must be 0 or more"),
])
def test_generate_settings(seeds, temperature, seed, message):
    with Workdir(seeds) as d:
        out = _run(d, "generate", "gpt.npz", "--prompt", "the ", "--length", "5",
                   "--temperature", temperature, "--seed", seed)
        if message is None:
            assert out.code == 0 and out.out.startswith("the ")
        else:
            assert out.code == 2 and message in out.err


def test_csv_of_paths_naming_an_unknown_users_home(seeds):
    """``~nosuchuser/a.png`` in a CSV of paths: ``expanduser`` raised RuntimeError (internal
    error); now the row is skipped as a file not found."""
    with Workdir(seeds) as d:
        text = (d / "list.csv").read_text()
        (d / "list.csv").write_text(text + "~nosuchuser/a.png,dark\n")
        out = _run(d, "predict", "img.npz", "--data", "list.csv", "--out", "o.csv")
        assert out.code == 0 and "~nosuchuser/a.png: file not found" in out.err


def test_onnx_initializer_whose_data_does_not_fit_its_dimensions(seeds):
    """``onnx.checker`` accepts it; ``numpy_helper.to_array`` raised ValueError (internal
    error)."""
    import onnx

    model = onnx.load(str(seeds / "m.onnx"))
    init = next(t for t in model.graph.initializer if t.name == "W1")
    init.ClearField("dims")
    init.dims.extend([1] * 7)
    with Workdir(seeds) as d:
        onnx.save(model, str(d / "f.onnx"))
        out = _run(d, "import", "f.onnx", "--out", "o.nnsproj", outputs=["o.nnsproj"])
        assert out.code == 2
        assert "initializer 'W1': its data does not fit its declared shape 1×1×1×1×1×1×1" \
            in out.err


@pytest.mark.parametrize(("file", "edit", "message"), [
    ("run/metrics.json", lambda d: d["history"].update(val_loss=[[1.0], 0.6]),
     "history 'val_loss' must be a list of numbers"),
    ("run/metrics.json", lambda d: d.update(summary=3), "'summary' must be an object"),
    ("run/metrics.json", lambda d: d["summary"].update(metrics="x"),
     "'summary.metrics' must be an object of splits"),  # AttributeError in the CLI before
    ("run/metrics.json", lambda d: d["summary"].update(metrics=None), ""),  # CLI's .get
    ("run/weights.npz", b"PK\x03\x04 damaged", "not a complete .npz archive"),  # left open

    ("run/metrics.json", None, "is nested more than"),  # RecursionError in json.loads
    ("export.json", lambda d: d["architecture"]["nodes"].__setitem__(0, float("inf")),
     "network.nodes[0]: must be an object"),
    ("export.json", lambda d: d.update(task=["classification"]), "'task' must be a text"),
    ("export.json", lambda d: d["architecture"].update(input_shape=[2**40]),
     "'architecture.input_shape' must be a list of sizes"),
])
def test_import_run_with_a_damaged_run_folder(seeds, file, edit, message):
    import json

    with Workdir(seeds) as d:
        path = d / "torch" / file
        if isinstance(edit, bytes):
            path.write_bytes(edit)
        elif edit is None:
            path.write_text('{"format": "nnstudio.pytorch_run", "history": '
                            + "[" * 100_000 + "]" * 100_000 + "}")
        else:
            doc = json.loads(path.read_text())
            edit(doc)
            path.write_text(json.dumps(doc))
        out = _run(d, "import-run", "torch", "--out", "o.npz", outputs=["o.npz"])
        if not message:
            assert out.code == 0 and (d / "o.npz").is_file(), out.describe()
        else:
            assert out.code == 2 and message in out.err, out.describe()


def test_onnx_gemm_bias_of_another_size(seeds):
    """A Gemm whose bias C has 6 values for 5 outputs: NumPy's broadcast error (internal)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(seeds / "m.onnx"))
    i = [t.name for t in model.graph.initializer].index("b1")
    model.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.zeros(6, np.float32), "b1"))
    with Workdir(seeds) as d:
        onnx.save(model, str(d / "f.onnx"))
        out = _run(d, "import", "f.onnx", "--out", "o.nnsproj", outputs=["o.nnsproj"])
        assert out.code == 2 and "node 'dense1' (Gemm): Gemm has a bias C of 6 values for 5 " \
            "outputs" in out.err, out.describe()


def test_sound_file_of_absurd_amplitude_is_skipped(tmp_path):
    """A float WAV whose damaged samples reach 1e300: the spectrogram overflowed (warnings),
    and evaluate reported a NaN loss with exit 0."""
    import soundfile as sf

    from .media_seeds import sound_seeds

    sound_seeds(tmp_path)
    x = np.zeros(2000)
    x[100] = 1e300
    sf.write(tmp_path / "snd" / "high" / "loud.wav", x, 8000, subtype="DOUBLE")
    with Workdir(tmp_path) as d:
        out = _run(d, "evaluate", "snd.npz", "--data", "snd")
        assert out.code == 0 and "loud.wav: holds sample values up to 1e+300" in out.err
        assert "nan" not in out.out


def test_sound_with_opposite_infinities_in_two_channels(tmp_path):
    """+inf and -inf in the two channels of one frame: mixing to mono warned (inf - inf)
    before the non-finite check."""
    import soundfile as sf

    from .media_seeds import sound_seeds

    sound_seeds(tmp_path)
    x = np.zeros((2000, 2))
    x[10] = [np.inf, -np.inf]
    sf.write(tmp_path / "snd" / "low" / "inf.wav", x, 8000, subtype="DOUBLE")
    with Workdir(tmp_path) as d:
        out = _run(d, "evaluate", "snd.npz", "--data", "snd")
        assert out.code == 0 and "inf.wav: holds non-finite samples" in out.err


# -- found by the server's property test: finite values that overflow once scaled ------------

def test_huge_finite_values_in_rows_are_refused_naming_row_and_column(seed_dir):
    """-1.8e308 in a feature: the scaling overflowed (RuntimeWarnings, then a 500 from the
    server and predictions of NaN with exit 0 from the CLI)."""
    with Workdir(seed_dir) as d:
        (d / "big.csv").write_text("a,b,day,label\n1,1,2020-01-01,yes\n"
                                   "-1.7976931348623157e+308,1,2020-01-02,no\n")
        out = _run(d, "predict", "p.npz", "--data", "big.csv", "--out", "o.csv")
        assert out.code == 2
        assert "big.csv, row 3, column 'a': the value -1.798e+308 is too large" in out.err
        np.savez(d / "big.npz", x=np.full((3, 4, 4), 1e308), y=np.zeros(3, int))
        out = _run(d, "evaluate", "pi.npz", "--data", "big.npz")
        assert out.code == 2 and "holds a value (1e+308) too large for this model" in out.err


def test_training_on_a_column_whose_spread_overflows(seed_dir):
    with Workdir(seed_dir) as d:
        lines = (d / "d.csv").read_text().splitlines()
        for i, v in ((5, "1e300"), (9, "-1.7976931348623157e+308")):
            lines[i] = v + "," + lines[i].split(",", 1)[1]
        (d / "d.csv").write_text("\n".join(lines) + "\n")
        out = _run(d, "train", "p.nnsproj", "--out", "o.npz", "--quiet", outputs=["o.npz"])
        assert out.code == 2 and "column 'a': values from -1.798e+308 to 1e+300 are too " \
            "large to scale" in out.err


def test_server_row_with_a_huge_value_is_a_4xx(seed_dir, tmp_path):
    import warnings

    from nnstudio.core.io import load_model
    from nnstudio.core.serve.app import create_app
    from nnstudio.core.serve.predictor import Predictor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        client = TestClient(create_app(Predictor(load_model(seed_dir / "p.npz")), None),
                            raise_server_exceptions=False)
    r = client.post("/predict", content=b'{"a": -1.7976931348623157e+308, "b": 1, '
                    b'"day": "2024-01-01"}', headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and "too large" in r.json()["error"], r.text
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("size", [0, 2**40])
def test_onnx_input_declaring_an_empty_or_huge_axis(seeds, size):
    """A per-sample size of 0 reached the Gather converter (ZeroDivisionError: internal
    error); 2**40 is refused before any shape is worked out."""
    import onnx

    model = onnx.load(str(seeds / "m.onnx"))
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = size
    with Workdir(seeds) as d:
        onnx.save(model, str(d / "f.onnx"))
        out = _run(d, "import", "f.onnx", "--out", "o.nnsproj", outputs=["o.nnsproj"])
        assert out.code == 2 and f"declares a sample of shape ({size},)" in out.err


def test_sound_header_claiming_a_rate_of_2_31_hz(tmp_path):
    """A WAV whose header says 2,147,483,647 Hz: resampling designed a filter of 40 billion
    taps — MemoryError, a 500 from the server (``not enough memory`` from the CLI)."""
    import struct

    import soundfile as sf

    from .media_seeds import sound_seeds

    sound_seeds(tmp_path)
    wav = tmp_path / "snd" / "high" / "0.wav"
    data = bytearray(wav.read_bytes())
    struct.pack_into("<I", data, 24, 2**31 - 1)  # the fmt chunk's sample rate
    wav.write_bytes(bytes(data))
    assert sf.info(str(wav)).samplerate == 2**31 - 1
    with Workdir(tmp_path) as d:
        out = _run(d, "predict", "snd.npz", "--data", "snd", "--out", "o.csv")
        assert out.code == 0 and "0.wav: has a sample rate of 2,147,483,647 Hz" in out.err


def test_resampling_from_a_rate_that_does_not_reduce():
    """44,101 Hz → 8 kHz: the exact ratio 8000/44101 needs an 882,021-tap filter; the nearest
    small-term ratio gives the same length within a sample and a pure tone stays put."""
    from nnstudio.core.data.audio import resample

    t = np.arange(44101) / 44101
    y = resample(np.sin(2 * np.pi * 440 * t), 44101, 8000)
    assert abs(len(y) - 8000) <= 1
    spectrum = np.abs(np.fft.rfft(y[:8000]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1
