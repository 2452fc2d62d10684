"""Tests for client partitioning and partition files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fedvideo.data.errors import DatasetError
from fedvideo.data.partition import (
    partition_by_class,
    partition_iid,
    partition_names,
    partition_quantity_skew,
    read_labels,
    read_partition,
    select_partition,
    write_partition_file,
)
from fedvideo.tasks.vsr.data.video import InMemoryVideo


def assert_contiguous_cover(partitions, num_items):
    flat = [i for part in partitions for i in part]
    assert flat == list(range(num_items))
    for part in partitions:
        assert part == list(range(part[0], part[0] + len(part)))


def tiny_videos(count):
    lr = np.zeros((1, 2, 2, 3), np.uint8)
    hr = np.zeros((1, 8, 8, 3), np.uint8)
    return [InMemoryVideo(f"v{k:02d}", lr, hr) for k in range(count)]


def test_iid_contiguous_nearly_equal_chunks():
    partitions = partition_iid(10, 3)
    assert [len(p) for p in partitions] == [4, 3, 3]
    assert_contiguous_cover(partitions, 10)
    fedvsr = partition_iid(240, 40)
    assert {len(p) for p in fedvsr} == {6}
    assert_contiguous_cover(fedvsr, 240)


@pytest.mark.parametrize(("items", "clients"), [(240, 40), (32, 4), (10, 10), (7, 3)])
def test_quantity_skew_sizes(items, clients):
    partitions = partition_quantity_skew(items, clients, a=0.1)
    sizes = [len(p) for p in partitions]
    assert sum(sizes) == items and min(sizes) >= 1
    assert sizes == sorted(sizes)
    assert_contiguous_cover(partitions, items)


def test_quantity_skew_follows_the_exponential():
    sizes = np.array([len(p) for p in partition_quantity_skew(100_000, 10, a=0.3)])
    ratios = sizes[1:] / sizes[:-1]
    assert np.allclose(ratios, np.exp(0.3), rtol=1e-3)
    assert [len(p) for p in partition_quantity_skew(10, 3, a=0.0)] == [4, 3, 3]
    with pytest.raises(DatasetError, match="alpha"):
        partition_quantity_skew(10, 3, a=float("nan"))


@pytest.mark.parametrize("function", [partition_iid, partition_quantity_skew])
@pytest.mark.parametrize(("items", "clients"), [(5, 0), (5, 6), (0, 1)])
def test_impossible_counts_name_the_values(function, items, clients):
    with pytest.raises(DatasetError, match="num-partitions") as err:
        function(items, clients)
    assert str(clients) in str(err.value)


def test_by_class_assigns_each_class_to_one_client():
    labels = ["b", "a", "c", "a", "b", "d"]
    partitions = partition_by_class(labels, 2)
    # sorted classes a, b, c, d -> clients 0, 1, 0, 1
    assert partitions == [[1, 2, 3], [0, 4, 5]]
    assert partition_by_class([3, 10, 2, 10], 3) == [[2], [0], [1, 3]]
    with pytest.raises(DatasetError, match="3 classes into num-partitions=4"):
        partition_by_class(["x", "y", "z"], 4)


def test_partition_file_round_trip(tmp_path):
    path = tmp_path / "sub" / "parts.json"
    write_partition_file(path, [["001", "002"], ["003"]], {"scheme": "iid"})
    document = json.loads(path.read_text())
    assert document == {
        "meta": {"scheme": "iid"},
        "partitions": [["001", "002"], ["003"]],
    }
    assert read_partition(path, 1, 2) == ["003"]


def test_read_partition_errors(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(DatasetError, match="does not exist") as err:
        read_partition(missing, 0, 1)
    assert str(missing) in str(err.value)

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON") as err:
        read_partition(broken, 0, 1)
    assert str(broken) in str(err.value)

    shapeless = tmp_path / "shapeless.json"
    shapeless.write_text(json.dumps({"partitions": [1, 2]}))
    with pytest.raises(DatasetError, match=str(shapeless)):
        read_partition(shapeless, 0, 2)

    four = tmp_path / "four.json"
    write_partition_file(four, [["a"], ["b"], ["c"], ["d"]], {})
    with pytest.raises(DatasetError) as err:
        read_partition(four, 7, 4)
    assert (
        str(err.value) == f"partition-id 7 out of range: file {four} has 4 partitions"
    )
    with pytest.raises(DatasetError, match="num-partitions 3") as err:
        read_partition(four, 0, 3)
    assert "4 partitions" in str(err.value) and str(four) in str(err.value)


def test_select_partition_schemes(tmp_path):
    videos = tiny_videos(10)
    chosen = select_partition(videos, "iid", 0, 3)
    assert [v.name for v in chosen] == ["v00", "v01", "v02", "v03"]
    skewed = [select_partition(videos, "quantity-skew", k, 3) for k in range(3)]
    assert sum(len(p) for p in skewed) == 10
    assert [v.name for v in skewed[2]][-1] == "v09"
    path = tmp_path / "parts.json"
    write_partition_file(path, [["v03", "v07"], ["v01"]], {})
    assert [v.name for v in select_partition(videos, str(path), 0, 2)] == ["v03", "v07"]


def test_select_partition_errors(tmp_path):
    videos = tiny_videos(4)
    with pytest.raises(DatasetError) as err:
        select_partition(videos, "iid", 4, 4)
    assert str(err.value) == "partition-id 4 out of range for num-partitions 4"
    with pytest.raises(DatasetError, match="out of range"):
        select_partition(videos, "iid", -1, 4)
    with pytest.raises(DatasetError, match="vsr.partitioning='dirichlet'"):
        select_partition(videos, "dirichlet", 0, 2)
    with pytest.raises(DatasetError, match="num-partitions=5"):
        select_partition(videos, "iid", 0, 5)
    path = tmp_path / "parts.json"
    write_partition_file(path, [["v00", "v99"], ["v01"]], {})
    with pytest.raises(DatasetError, match="'v99'") as err:
        select_partition(videos, str(path), 0, 2)
    assert str(path) in str(err.value)
    with pytest.raises(DatasetError, match="num-partitions 3"):
        select_partition(videos, str(path), 0, 3)


def test_read_labels_csv_and_json(tmp_path):
    with_header = tmp_path / "labels.csv"
    with_header.write_text("clip,label\n001,cat\n002, dog\n\n")
    assert read_labels(with_header) == {"001": "cat", "002": "dog"}
    plain = tmp_path / "plain.csv"
    plain.write_text("001,1\n002,2\n")
    assert read_labels(plain) == {"001": "1", "002": "2"}
    as_json = tmp_path / "labels.json"
    as_json.write_text(json.dumps({"001": 3, "002": "x"}))
    assert read_labels(as_json) == {"001": "3", "002": "x"}
    bad = tmp_path / "bad.csv"
    bad.write_text("001,cat,extra\n")
    with pytest.raises(DatasetError, match="line 1"):
        read_labels(bad)
    with pytest.raises(DatasetError, match="does not exist"):
        read_labels(tmp_path / "none.csv")


def test_partition_names():
    names = ["a", "b", "c", "d"]
    assert partition_names(names, "iid", 2) == [["a", "b"], ["c", "d"]]
    labels = {"a": "x", "b": "y", "c": "x", "d": "y"}
    assert partition_names(names, "by-class", 2, labels=labels) == [
        ["a", "c"],
        ["b", "d"],
    ]
    with pytest.raises(DatasetError, match="'d'"):
        partition_names(names, "by-class", 2, labels={"a": "x", "b": "y", "c": "x"})
    with pytest.raises(DatasetError, match="--labels"):
        partition_names(names, "by-class", 2)
    with pytest.raises(DatasetError, match="unknown partitioning scheme"):
        partition_names(names, "random", 2)
