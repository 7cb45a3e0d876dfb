"""Decimal commas and thousands separators are read as numbers, and said; a few words in a
numeric column that make it categorical are said too."""

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.data.decimals import column_format
from nnstudio.core.data.preview import preview


def _semicolon(write):
    rows = ["bill_length;island;mass"]
    rng = np.random.default_rng(1)
    for i in range(40):
        length = 35 + rng.random() * 15
        rows.append(f"{length:.1f}".replace(".", ",") + f";{'ab'[i % 2]};{3000 + 25 * i}")
    return write("penguins.csv", "\n".join(rows) + "\n")


@pytest.mark.parametrize(("values", "delimiter", "expected"), [
    (["39,1", "40,5", "", "NA"], ";", ","),
    (["1.234,5", "12,0"], ";", ","),
    (["1,234.5", "999.25", "12"], ",", "grouped"),
    (["1,234", "2,500"], ";", ","),
    (["1,234", "2,500"], ",", "grouped"),
    (["1.5", "2"], ",", None),  # plain numbers: nothing to do
    (["Dream", "39,1"], ";", None),  # not all numbers
])
def test_column_format(values, delimiter, expected):
    assert column_format(np.array(values), delimiter) == expected


def test_decimal_comma_column_is_numeric_and_said(write):
    path = _semicolon(write)
    pv = preview(path)
    assert pv.kinds["bill_length"] == "numeric" and pv.number_formats == {"bill_length": ","}
    data = build_dataset(DatasetSpec(source=str(path), target="mass"))
    assert "bill_length" in data.preparation.output_names()  # one numeric input, not 40
    info = {f["name"]: f for f in data.preparation.feature_info()}
    assert info["bill_length"]["min"] >= 35 and info["bill_length"]["max"] <= 50
    assert any("decimal comma" in n and "bill_length" in n for n in data.notes)


def test_decimal_point_keeps_text_but_says_so(write):
    data = build_dataset(DatasetSpec(source=str(_semicolon(write)), target="mass",
                                     decimal="."))
    assert any("bill_length" in n and "read as text" in n for n in data.notes)


def test_quoted_decimal_comma_among_numbers_is_not_lost(write):
    lines = ["x,y"] + [f"{i}.5,{i}" for i in range(20)] + ['"99,25",20']
    data = build_dataset(DatasetSpec(source=str(write("q.csv", "\n".join(lines) + "\n")),
                                     target="y", scaling="none", task="regression"))
    assert data.counts["dropped"] == 0
    x = np.concatenate([data.x_train, data.x_val, data.x_test])[:, 0]
    assert np.isclose(x, 99.25).sum() == 1


def test_a_word_in_a_numeric_column_is_said(write):
    lines = ["a,b,y"] + [f"{i},{v},{i % 2}" for i, v in
                         enumerate(["5", "six", "0", "1", "2", "3", "4", "5", "6", "7"])]
    path = write("w.csv", "\n".join(lines) + "\n")
    data = build_dataset(DatasetSpec(source=str(path), target="y"))
    assert any("'b'" in n and "'six'" in n and "categories" in n for n in data.notes)


def test_ragged_rows_are_numbered_as_the_grid(write):
    path = write("r.csv", "a,b\n1,2\n3,4\n5\n")
    assert any(p.startswith("row 3 has 1 fields") for p in preview(path).problems)
