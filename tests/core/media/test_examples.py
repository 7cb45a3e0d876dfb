"""The built-in image and sound examples: small, readable, and their networks fit them."""

from __future__ import annotations

import pytest

from nnstudio.core.io.pipeline import build_network, load_data
from nnstudio.core.io.project import load_project
from nnstudio.resources import resource_path


@pytest.mark.parametrize("name, folder, shape, classes", [
    ("shapes", "shapes", (3, 32, 32), ["circle", "square", "triangle"]),
    ("spoken_words", "words", (1, 98, 40), ["down", "no", "up", "yes"]),
])
def test_media_examples_load_and_fit_their_network(name, folder, shape, classes):
    files = [p for p in resource_path("examples", folder).rglob("*") if p.is_file()]
    assert 100 <= len(files) <= 400  # small enough to ship
    project = load_project(resource_path("examples", f"{name}.nnsproj"))
    prepared = load_data(project)
    assert prepared.input_shape == shape
    assert prepared.class_names == classes
    assert prepared.media["skipped"] == []
    assert sum(prepared.counts[s] for s in ("train", "validation", "test")) == len(files)
    net = build_network(project, prepared)
    assert tuple(net.output_shape) == (len(classes),)
