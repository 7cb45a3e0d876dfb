"""Delimited text: dialects, quoting, encodings, line endings, kinds, fast vs general path."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from nnstudio.core.data import csv_reader, load_table
from nnstudio.core.data.fastnum import PAD, parse_numeric_block


def test_plain_csv_with_header(write):
    t = load_table(write("a.csv", "x,y,label\n1,2.5,a\n3,-4,b\n5,6e2,a\n"))
    assert t.columns == ["x", "y", "label"]
    assert t.n_rows == 3 and t.has_header and t.delimiter == ","
    np.testing.assert_array_equal(t["y"].values, [2.5, -4.0, 600.0])
    assert t["label"].kind == "categorical"
    assert t["label"].values.tolist() == ["a", "b", "a"]


def test_quoted_numbers_are_numbers(write):
    t = load_table(write("q.csv", 'id,zip,v\n"7129300520","98178","1"\n"2","98125","2.5"\n'))
    assert [t[c].kind for c in t.columns] == ["numeric"] * 3
    np.testing.assert_array_equal(t["zip"].values, [98178, 98125])
    np.testing.assert_array_equal(t["id"].values, [7129300520, 2])


def test_quoted_fields_with_delimiters_newlines_and_quotes(write):
    text = 'name,note,n\n"Smith, J.","said ""hi""\nthen left",1\nDoe,plain,2\n'
    t = load_table(write("q.csv", text))
    assert t["name"].values.tolist() == ["Smith, J.", "Doe"]
    assert t["note"].values[0] == 'said "hi"\nthen left'
    assert t.line_number(1) == 4  # the quoted newline makes record 2 start on line 4


def test_bom_and_windows_line_endings(write):
    p = write("w.csv", b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r\n")
    t = load_table(p)
    assert t.columns == ["a", "b"]  # no BOM glued to the first name
    np.testing.assert_array_equal(t["b"].values, [2, 4])


def test_bom_crlf_with_text_goes_general_path(write):
    t = load_table(write("w.csv", "\ufeffcity,n\r\nZürich,1\r\nGenève,2\r\n"))
    assert t.columns == ["city", "n"]
    assert t["city"].values.tolist() == ["Zürich", "Genève"]


@pytest.mark.parametrize("delim", ["\t", ";", "|"])
def test_delimiter_is_sniffed(write, delim):
    rows = [["a", "b", "c"], ["1", "2", "x"], ["4", "5", "y"]]
    t = load_table(write("d.txt", "\n".join(delim.join(r) for r in rows) + "\n"))
    assert t.delimiter == delim and t.columns == ["a", "b", "c"]


def test_delimiter_and_header_overrides(write):
    p = write("d.txt", "1;2\n3;4\n")
    t = load_table(p)
    assert not t.has_header and t.columns == ["column_1", "column_2"] and t.n_rows == 2
    t = load_table(p, delimiter=";", header=True)
    assert t.columns == ["1", "2"] and t.n_rows == 1


def test_tsv_extension_prefers_tab(write):
    t = load_table(write("d.tsv", "a\tb,c\n1\t2,3\n4\t5,6\n"))
    assert t.delimiter == "\t" and t.columns == ["a", "b,c"]


def test_cp1252_file(write):
    t = load_table(write("latin.csv", "name,n\nCafé,1\nNaïve,2\n".encode("cp1252")))
    assert t.encoding == "cp1252" and t["name"].values.tolist() == ["Café", "Naïve"]


def test_utf16_with_bom(write):
    t = load_table(write("u16.csv", "a,b\n1,x\n2,y\n".encode("utf-16")))
    assert t["a"].values.tolist() == [1.0, 2.0] and t["b"].values.tolist() == ["x", "y"]


def test_missing_markers_and_empty_fields(write):
    t = load_table(write("m.csv", "a,b,c\n1,,x\nNA,2,\n3,n/a,y\n4,5,z\n"))
    assert t["a"].kind == "numeric" and t["a"].n_missing == 1
    assert t["b"].kind == "numeric" and t["b"].n_missing == 2
    assert t["c"].kind == "categorical" and t["c"].n_missing == 1
    assert t["c"].values[1] == ""


def test_fast_path_missing_values(write):
    t = load_table(write("m.csv", "a,b\n1,\n,2\n3,4\n"))
    assert np.isnan(t["a"].values[1]) and np.isnan(t["b"].values[0])
    assert t["a"].n_missing == 1


def test_junk_in_numeric_column_is_recorded_not_fatal(write):
    rows = "\n".join(f"{i},{i * 2}" for i in range(30))
    t = load_table(write("j.csv", f"a,b\n{rows}\n7,oops\n"))
    col = t["b"]
    assert col.kind == "numeric" and col.n_invalid == 1
    assert col.invalid_values == ["oops"]
    assert t.line_number(int(col.invalid_rows[0])) == 32


def test_dates_and_text_kinds(write):
    lines = ["when,who,n"] + [f"2014-10-{d:02d},person{d},{d}" for d in range(1, 29)]
    t = load_table(write("d.csv", "\n".join(lines) + "\n"))
    assert t["when"].kind == "date"
    assert t["who"].kind == "text"
    days = (datetime.date(2014, 10, 1) - datetime.date(1970, 1, 1)).days
    assert t["when"].as_days()[0] == days


def test_all_missing_column_is_empty_kind(write):
    t = load_table(write("e.csv", "a,b\n1,\n2,\n"))
    assert t["b"].kind == "empty" and t["b"].n_missing == 2


def test_trailing_blank_lines_and_no_final_newline(write):
    assert load_table(write("t.csv", "a,b\n1,2\n3,4\n\n\n")).n_rows == 2
    assert load_table(write("t.csv", "a,b\n1,2\n3,4")).n_rows == 2
    t = load_table(write("t.csv", "a,b\n1,2\n\n3,4\n"))  # blank line inside: general path
    assert t.n_rows == 2 and t.line_number(1) == 4


def test_duplicate_and_blank_header_names(write):
    t = load_table(write("h.csv", "a,a,,b\n1,2,3,x\n4,5,6,y\n"))
    assert t.columns == ["a", "a_2", "column_3", "b"]


def test_fast_and_general_paths_agree(write, monkeypatch):
    rng = np.random.default_rng(1)
    vals = rng.normal(size=(300, 4)) * 10.0 ** rng.integers(-8, 8, size=(300, 4))
    lines = ["a,b,c,d"] + [",".join(f"{v:.10g}" for v in row) for row in vals]
    p = write("n.csv", "\n".join(lines) + "\n")
    fast = load_table(p)
    monkeypatch.setattr(csv_reader, "_read_fast", lambda *a: None)
    slow = load_table(p)
    for c in fast.columns:
        np.testing.assert_array_equal(fast[c].values, slow[c].values)


def _tokens(rng, n):
    """Number spellings a CSV may hold, with their float() value."""
    ints = rng.integers(-10**6, 10**6, n).astype(str)
    floats = np.char.mod("%.6g", rng.normal(size=n) * 10.0 ** rng.integers(-6, 9, n))
    reprs = np.array([repr(float(x)) for x in rng.normal(size=n) * 1e3])
    fixed = np.char.mod("%.4f", rng.uniform(-1, 1, n))
    sci = np.char.mod("%.18e", rng.normal(size=n) * 10.0 ** rng.integers(-30, 30, n))
    g17 = np.char.mod("%.17g", rng.normal(size=n) * 10.0 ** rng.integers(-12, 12, n))
    odd = np.array(["0", "-0", "+5", ".5", "5.", "-.25", "007", "1e5", "2E-3", "-1.5e+10",
                    "123456789012345", "0.000000000000001", "99999999999999999999", "3.0",
                    "1e-300", "-2.5E+300", "18446744073709551615", "9223372036854775807.5",
                    "0.30000000000000004", "1.7976931348623157e308", "5e-324", "1e0"])
    return np.concatenate([ints, floats, reprs, fixed, sci, g17, odd])


def test_fast_parser_matches_float_bit_for_bit():
    rng = np.random.default_rng(7)
    tokens = _tokens(rng, 2000)
    tokens = tokens[: tokens.size // 4 * 4].reshape(-1, 4)
    buf = "".join(",".join(r) + "\n" for r in tokens).encode()
    out = parse_numeric_block(b"0" * PAD + buf, 4, b",")
    expected = np.array([[float(t) for t in r] for r in tokens])
    assert out is not None
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("bad", ["1-2", "--1", "1.2.3", "-", ".", "1e", "abc", '"1"', "1 2",
                                 "nan", "e5", "1e5e3", "1e-", "1.5e+-3", "1.2.3e4", "-e5",
                                 "1" * 20 + "x", "12345678901234567.8.9", "+-1e3"])
def test_fast_parser_refuses_what_it_cannot_parse(bad):
    assert parse_numeric_block(b"0" * PAD + f"1,{bad}\n".encode(), 2, b",") is None


def test_fast_parser_refuses_ragged_rows():
    assert parse_numeric_block(b"0" * PAD + b"1,2\n3\n", 2, b",") is None
    assert parse_numeric_block(b"0" * PAD + b"1,2,3\n4,5\n", 2, b",") is None


def test_single_column_file(write):
    t = load_table(write("one.csv", "value\n1\n2.5\n\n"))
    assert t.columns == ["value"] and t["value"].values.tolist() == [1.0, 2.5]


def test_infinity_is_not_a_number(write):
    rows = "".join(f"{i}\n" for i in range(30))
    col = load_table(write("inf.csv", f"v\n{rows}inf\n"))["v"]
    assert col.kind == "numeric" and col.invalid_values == ["inf"]


def test_strings_are_stripped(write):
    t = load_table(write("s.csv", "c,n\n a ,1\na,2\n b,3\n"))
    assert t["c"].values.tolist() == ["a", "a", "b"] and t["c"].n_distinct == 2


def test_take_keeps_line_numbers(write):
    t = load_table(write("t.csv", "a,b\n1,x\n2,y\n3,z\n"))
    sub = t.take(np.array([2, 0]))
    assert sub["a"].values.tolist() == [3.0, 1.0] and sub.line_number(0) == 4


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 kB so a small file spans many blocks (and threads)."""
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 4096)


@pytest.mark.parametrize("threads", [1, 2])
def test_many_blocks_in_order(write, monkeypatch, small_blocks, threads):
    monkeypatch.setattr(csv_reader, "PARSE_THREADS", threads)
    rng = np.random.default_rng(3)
    cells = np.char.mod("%.3f", rng.normal(size=(5000, 3)) * 1000)
    text = "a,b,c\r\n" + "".join(",".join(r) + "\r\n" for r in cells)
    t = load_table(write("many.csv", text))
    assert t.n_rows == 5000
    expected = np.vectorize(float)(cells)
    np.testing.assert_array_equal(np.stack([t[c].values for c in "abc"], 1), expected)


def test_junk_deep_in_a_numeric_file_falls_back_with_exact_row(write, small_blocks):
    rows = [f"{i},{i * 0.5}" for i in range(20000)]
    rows[15000] = "15000,7,5"  # a ragged row far past the first block
    p = write("deep.csv", "x,y\n" + "\n".join(rows) + "\n")
    from nnstudio.core.errors import DataError

    with pytest.raises(DataError, match=r"deep\.csv, row 15002: has 3 fields"):
        load_table(p)
    rows[15000] = "15000,seven"
    t = load_table(write("deep2.csv", "x,y\n" + "\n".join(rows) + "\n"))
    assert t["y"].n_invalid == 1 and t.line_number(int(t["y"].invalid_rows[0])) == 15002


def test_fast_parser_all_long_tokens_bit_exact():
    # Every token long and dotted (pandas' to_csv, %.18e): the whole-block wide route.
    rng = np.random.default_rng(11)
    vals = rng.normal(size=6000) * 10.0 ** rng.integers(-9, 9, 6000)
    tokens = np.array([repr(float(v)) for v in vals[:3000]]
                      + [f"{v:.18e}" for v in vals[3000:]]).reshape(-1, 3)
    buf = "".join(",".join(r) + "\n" for r in tokens).encode()
    out = parse_numeric_block(b"0" * PAD + buf, 3, b",")
    assert out is not None
    np.testing.assert_array_equal(out, np.vectorize(float)(tokens))


@pytest.mark.parametrize("bad", [".-5", "1.5-", "-1.2.", "1.5e5.5", "."])
def test_fast_parser_wide_route_refuses_bad_tokens(bad):
    good = ",".join(["0.12345678901234567"] * 3)
    buf = f"{good}\n{bad},0.12345678901234567,-1.2345678901234567\n".encode()
    assert parse_numeric_block(b"0" * PAD + buf, 3, b",") is None


def test_quoted_header_name_with_a_line_break(write):
    t = load_table(write("h.csv", '"two\nlines",b\n1,x\n2,y\n'))
    assert t.columns == ["two\nlines", "b"]
    assert t["two\nlines"].values.tolist() == [1, 2]


def test_utf8_whose_last_sampled_character_has_three_bytes_is_utf8(write):
    # Cutting the sample's last bytes used to split "前" and make the file look like cp1252.
    t = load_table(write("u.csv", "x,name\n1,名前\n2,名前\n"))
    assert t.encoding == "utf-8"
    assert t["name"].values.tolist() == ["名前", "名前"]
