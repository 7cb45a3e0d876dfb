"""The boundary caption says what the plot does with inputs it does not show: numeric ones
at their training means, categorical ones at their most frequent training category."""

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.insight.dataview import InsightData, fixed_inputs_text


def test_categorical_inputs_are_held_at_their_most_frequent_category(tmp_path):
    rows = ["island,bill,flipper,depth,y"]
    for i in range(60):
        island = ["Dream", "Biscoe", "Dream", "Torgersen"][i % 4]
        rows.append(f"{island},{30 + i % 7},{180 + i % 11},{15 + i % 3},{i % 2}")
    path = tmp_path / "p.csv"
    path.write_text("\n".join(rows) + "\n")
    data = build_dataset(DatasetSpec(source=str(path),
                                     target="y"))
    view = InsightData.from_prepared(data)
    assert view.held_categories == {"island": "Dream"}
    assert view.plot_names == ["bill", "flipper", "depth"]
    text = fixed_inputs_text(1, view.held_categories)
    assert text == ("The other numeric feature stays at its training mean; the categorical "
                    "input stays at the most frequent training category (island = Dream).")
    assert fixed_inputs_text(0, {}) == ""
