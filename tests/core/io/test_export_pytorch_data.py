"""The PyTorch export of text, corpus, image and sound projects: the data nnstudio prepared
goes with the export as arrays (data.py cannot tokenize or decode), and what cannot be
reproduced (augmentation, a model file without its data) is refused in one sentence."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.errors import ExportError
from nnstudio.core.graph.text_templates import transformer_network
from nnstudio.core.io.export_pytorch import export_pytorch
from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.project import Project
from tests.core.text.corpora import corpus_text, write_messages_csv

from .pytorch_helpers import exported_modules, rel_error

torch = pytest.importorskip("torch")


def _project(dataset: dict, network: dict, **training) -> Project:
    train = {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.003},
             "batch_size": 16, "epochs": 1, "seed": 0, **training}
    return Project.from_dict({"format": "nnstudio.project", "version": 2, "dataset": dataset,
                              "network": network, "training": train}, where="test project")


def _same_splits(out, prepared):
    with exported_modules(out) as m:
        splits = m.data.load_splits(out)
    for split, (x, y) in (("train", (prepared.x_train, prepared.y_train)),
                          ("validation", (prepared.x_val, prepared.y_val)),
                          ("test", (prepared.x_test, prepared.y_test))):
        np.testing.assert_array_equal(splits[split][0], np.asarray(x), err_msg=split)
        np.testing.assert_array_equal(splits[split][1], np.asarray(y), err_msg=split)
        assert splits[split][0].dtype == np.asarray(x).dtype
    return splits


def test_text_classifier_exports_nnstudios_token_sequences(tmp_path):
    data = tmp_path / "sms.csv"
    write_messages_csv(data, 120)
    dataset = {"source": str(data), "target": "label",
               "text": {"encoding": "sequence", "length": 10}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    vocab = len(prepared.preparation.text.vocab)
    project = _project(dataset, transformer_network("classifier", (10,), 2, vocab, 1, 8, 2))
    model = run_training(project, prepared, epochs=1)
    out = export_pytorch(tmp_path / "export", project=project, model=model, prepared=prepared)
    spec = json.loads((out / "data.json").read_text())
    assert spec["kind"] == "prepared" and spec["prepared"] == "text"
    assert spec["source"] == "data/prepared.npz"
    splits = _same_splits(out, prepared)
    # the exported model on the exported data predicts what nnstudio predicts
    x = splits["test"][0]
    with exported_modules(out) as m:
        net = m.model.Net().eval()
        m.nnstudio_layers.load_weights(net, out / "weights.npz")
        with torch.no_grad():
            got = net(torch.as_tensor(x)).numpy()
    assert rel_error(got, model.network.predict(x)) <= 1e-5


def test_language_model_export_trains_with_train_py(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(corpus_text(60), encoding="utf-8")
    dataset = {"source": str(path), "corpus": {"window": 12}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    v = prepared.output_size
    project = _project(dataset, transformer_network("gpt", (12,), v, v, 1, 8, 2))
    out = export_pytorch(tmp_path / "export", project=project, prepared=prepared)
    assert json.loads((out / "data.json").read_text())["prepared"] == "a text corpus"
    _same_splits(out, prepared)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    run = subprocess.run([sys.executable, str(out / "train.py"), "--threads", "1",
                          "--epochs", "1"], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["history"]["accuracy"][0] <= 1.0
    assert "accuracy" in metrics["summary"]["metrics"]["test"]
    assert np.isfinite(metrics["history"]["val_loss"][0])
    # and the run comes back into nnstudio
    from nnstudio.core.io.run_import import read_run

    back = read_run(out / "run", prepared)
    assert back.summary["trained_with"] == "pytorch"
    assert len(back.history["loss"]) == 1


def _images(root, n=6, size=8):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, (lo, hi) in (("bright", (150, 256)), ("dark", (0, 100))):
        (root / label).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(lo, hi, (size, size), dtype=np.uint8)).save(
                root / label / f"{i}.png")


def _image_net():
    nodes = [{"id": "in", "type": "Input"},
             {"id": "c", "type": "Conv2D", "filters": 2, "kernel_size": [3, 3]},
             {"id": "g", "type": "GlobalMaxPool2D"}, {"id": "o", "type": "Dense", "units": 2},
             {"id": "p", "type": "Softmax"}]
    return {"nodes": nodes, "edges": [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]}


def test_image_folder_exports_the_decoded_images_and_augmentation_is_refused(tmp_path):
    _images(tmp_path / "shapes")
    project = _project({"source": str(tmp_path / "shapes")}, _image_net())
    prepared = load_data(project)
    out = export_pytorch(tmp_path / "export", project=project, prepared=prepared)
    assert json.loads((out / "data.json").read_text())["prepared"] == "images"
    _same_splits(out, prepared)

    augmented = _project({"source": str(tmp_path / "shapes"), "augment": {"flip": True}},
                         _image_net())
    with pytest.raises(ExportError, match=r"augments its training images.*turn augmentation "
                                          r"off"):
        export_pytorch(tmp_path / "aug", project=augmented, prepared=load_data(augmented))
    assert not (tmp_path / "aug").exists()


def test_a_text_model_file_alone_is_refused(tmp_path):
    data = tmp_path / "sms.csv"
    write_messages_csv(data, 80)
    dataset = {"source": str(data), "target": "label", "text": {"encoding": "bag"}}
    nodes = [{"id": "in", "type": "Input"}, {"id": "o", "type": "Dense", "units": 2},
             {"id": "p", "type": "Softmax"}]
    project = _project(dataset, {"nodes": nodes, "edges": [["in", "o"], ["o", "p"]]})
    model = run_training(project, load_data(project), epochs=1)
    with pytest.raises(ExportError, match=r"trained on text, which the exported data\.py "
                                          r"cannot prepare from a file: export its project"):
        export_pytorch(tmp_path / "m", model=model)
    # with its project the prepared arrays go along
    out = export_pytorch(tmp_path / "p", project=project, model=model)
    assert json.loads((out / "data.json").read_text())["prepared"] == "text"


def test_sound_folder_exports_the_spectrograms(tmp_path):
    sf = pytest.importorskip("soundfile")
    root = tmp_path / "tones"
    t = np.arange(4000) / 8000
    for label, freq in (("low", 300.0), ("high", 2500.0)):
        (root / label).mkdir(parents=True)
        for i in range(5):
            sf.write(root / label / f"{i}.wav", 0.5 * np.sin(2 * np.pi * freq * (1 + i / 50) * t),
                     8000)
    project = _project({"source": str(root), "sound": {"duration": 0.5}}, _image_net())
    prepared = load_data(project)
    out = export_pytorch(tmp_path / "export", project=project, prepared=prepared)
    assert json.loads((out / "data.json").read_text())["prepared"] == "sounds"
    _same_splits(out, prepared)
