"""Typed artifacts: same names, methods and metadata as KFP v2's ``kfp.dsl`` classes.

Each method is run on our class and on KFP's (kfp is installed for the tests) and the
metadata dicts compared. SlicedClassificationMetrics is broken in KFP (its methods call
methods that do not exist), so there the behaviour is defined here: per slice, KFP's
ClassificationMetrics layout under ``evaluationSlices``.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from google.protobuf import json_format, struct_pb2
from kfp import dsl
from kfp.dsl import executor as kfp_executor
from kfp.dsl.types import artifact_types as kfp_types

import lineage.artifacts as la
from lineage.model import Value

PAIRS = [
    (la.Artifact, dsl.Artifact),
    (la.Dataset, dsl.Dataset),
    (la.Model, dsl.Model),
    (la.Metrics, dsl.Metrics),
    (la.ClassificationMetrics, dsl.ClassificationMetrics),
    (la.SlicedClassificationMetrics, dsl.SlicedClassificationMetrics),
    (la.HTML, dsl.HTML),
    (la.Markdown, dsl.Markdown),
]


def both(cls_pair, **kwargs):
    ours, theirs = cls_pair
    return ours(**kwargs), theirs(**kwargs)


# ------------------------------------------------------------------ types and registry


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_schema_title_and_version_match_kfp(ours, theirs):
    assert ours.schema_title == theirs.schema_title
    assert ours.schema_version == theirs.schema_version == "0.0.1"
    assert ours.__name__ == theirs.__name__


def test_registry_has_kfps_schema_titles():
    assert set(la.ARTIFACT_CLASSES) == set(kfp_types._SCHEMA_TITLE_TO_TYPE)
    assert la.ARTIFACT_CLASSES["system.Model"] is la.Model
    assert la.ARTIFACT_CLASSES["system.SlicedClassificationMetrics"] is (
        la.SlicedClassificationMetrics
    )
    for title, cls in la.ARTIFACT_CLASSES.items():
        assert cls.schema_title == title
        assert la.artifact_class_for(title) is cls


def test_artifact_class_for_falls_back_to_artifact():
    assert la.artifact_class_for("google.VertexModel") is la.Artifact
    assert la.artifact_class_for("") is la.Artifact


def test_subclasses_of_artifact():
    for ours, _ in PAIRS:
        assert issubclass(ours, la.Artifact)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_constructor_defaults_match_kfp(ours, theirs):
    a, k = ours(), theirs()
    assert (a.name, a.uri, a.metadata, a.path) == (k.name, k.uri, k.metadata, k.path)
    a = ours(name="x", uri="gs://b/x", metadata={"k": 1})
    k = theirs(name="x", uri="gs://b/x", metadata={"k": 1})
    assert (a.name, a.uri, a.metadata, a.path) == (k.name, k.uri, k.metadata, k.path)


def test_constructor_rejects_wrong_types():
    with pytest.raises(TypeError, match="name must be a str"):
        la.Artifact(name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uri must be a str"):
        la.Artifact(uri=b"gs://x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata must be a dict"):
        la.Artifact(metadata=[("a", 1)])  # type: ignore[arg-type]


def test_metadata_dict_is_kept_not_copied():
    metadata: dict = {}
    assert la.Metrics(metadata=metadata).metadata is metadata


def test_lineage_artifacts_does_not_import_kfp():
    code = (
        "import sys; sys.modules['kfp'] = None\n"  # any `import kfp` would now fail
        "import lineage.artifacts as la\n"
        "m = la.ClassificationMetrics(); m.log_confusion_matrix(['a'], [[1]])\n"
        "assert not any(n == 'kfp' or n.startswith('kfp.') for n in sys.modules if sys.modules[n])"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ uri <-> path


URIS = [
    "gs://bucket/dir/model",
    "s3://bucket/dir/data.csv",
    "minio://mlpipeline/v2/artifacts/run/task/out",
    "oci://registry.example/org/image:tag",
    "/tmp/local/path",
    "relative/path",
    "https://example.com/x",
    "",
]


@pytest.mark.parametrize("uri", URIS)
@pytest.mark.parametrize(("ours", "theirs"), [PAIRS[0], PAIRS[2]])  # Artifact, Model
def test_path_from_uri_matches_kfp(ours, theirs, uri):
    assert ours(uri=uri).path == theirs(uri=uri).path


PATHS = [
    "/gcs/bucket/dir/model",
    "/s3/bucket/x",
    "/minio/mlpipeline/x/y",
    "/oci/registry.example_org_image:tag/models",
    "/tmp/local/path",
    "relative/file",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("ours", [la.Artifact, la.Model, la.Dataset])
def test_setting_path_sets_uri_as_kfp(ours, path):
    # KFP 2.13's Model overrides the path getter only, so it lost the setter; ours has it.
    a, k = ours(), dsl.Artifact()
    a.path = path
    k.path = path
    assert a.uri == k.uri


def test_path_round_trips_for_mounted_schemes():
    for uri in ("gs://b/a/b", "s3://b/k", "minio://b/k"):
        a = la.Dataset(uri=uri)
        path = a.path
        a.path = path
        assert a.uri == uri


def test_file_uris_map_to_local_paths():
    assert la.Artifact(uri="file:///tmp/out/model.pkl").path == "/tmp/out/model.pkl"
    assert la.Artifact(uri="file://localhost/tmp/x").path == "/tmp/x"
    assert la.Artifact(uri="file:///tmp/with%20space/x").path == "/tmp/with space/x"
    with pytest.raises(ValueError, match="remote host"):
        _ = la.Artifact(uri="file://otherhost/tmp/x").path


def test_setting_path_keeps_file_scheme(tmp_path):
    a = la.Model(uri="file:///somewhere/old")
    a.path = str(tmp_path / "new dir" / "model.bin")
    assert a.uri.startswith("file:///")
    assert a.path == str(tmp_path / "new dir" / "model.bin")
    a.path = "/gcs/bucket/m"  # a mount still wins
    assert a.uri == "gs://bucket/m"


def test_path_accepts_pathlike(tmp_path):
    a = la.Dataset()
    a.path = tmp_path / "d.csv"
    assert a.uri == str(tmp_path / "d.csv")
    assert a.path == str(tmp_path / "d.csv")


def test_uri_helpers_are_inverse():
    for uri in ("gs://b/x", "s3://b/x", "minio://b/x", "/abs/x"):
        assert la.local_path_to_uri(la.uri_to_local_path(uri)) == uri
    assert la.local_path_to_uri("/abs/x", file_scheme=True) == "file:///abs/x"
    assert la.uri_to_local_path(la.local_path_to_uri("/a b/c", file_scheme=True)) == "/a b/c"


def test_model_framework_as_kfp():
    a, k = la.Model(), dsl.Model()
    assert a.framework == k.framework == ""
    a.framework = k.framework = "sklearn"
    assert a.metadata == k.metadata == {"framework": "sklearn"}
    assert a.framework == "sklearn"


# ------------------------------------------------------------------ Metrics


def test_log_metric_matches_kfp():
    a, k = la.Metrics(), dsl.Metrics()
    for name, value in [("accuracy", 0.91), ("epochs", 10), ("loss", 0.25), ("accuracy", 0.93)]:
        a.log_metric(name, value)
        k.log_metric(name, value)
    assert a.metadata == k.metadata == {"accuracy": 0.93, "epochs": 10, "loss": 0.25}


def test_log_metric_accepts_numpy_scalars_as_plain_numbers():
    m = la.Metrics()
    m.log_metric("f32", np.float32(0.5))
    m.log_metric("i64", np.int64(7))
    assert m.metadata == {"f32": 0.5, "i64": 7}
    assert type(m.metadata["f32"]) is float and type(m.metadata["i64"]) is int
    json.dumps(m.metadata)  # plain JSON-able values


@pytest.mark.parametrize("value", ["0.9", None, [0.9], True, {"v": 1}])
def test_log_metric_rejects_non_numbers(value):
    m = la.Metrics()
    with pytest.raises(TypeError, match="must be a number"):
        m.log_metric("accuracy", value)
    assert m.metadata == {}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_log_metric_rejects_non_finite(value):
    with pytest.raises(ValueError, match="must be finite"):
        la.Metrics().log_metric("loss", value)


def test_log_metric_rejects_bad_names():
    with pytest.raises(ValueError, match="must not be empty"):
        la.Metrics().log_metric("", 1.0)
    with pytest.raises(TypeError, match="metric name must be a str"):
        la.Metrics().log_metric(3, 1.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ ClassificationMetrics


def test_log_roc_data_point_matches_kfp():
    a, k = both(PAIRS[4])
    for fpr, tpr, th in [(0.0, 0.0, 1.0), (0.1, 0.6, 0.7), (1.0, 1.0, 0.0)]:
        a.log_roc_data_point(fpr, tpr, th)
        k.log_roc_data_point(fpr, tpr, th)
    assert a.metadata == k.metadata
    assert list(a.metadata["confidenceMetrics"][0]) == [
        "confidenceThreshold",
        "recall",
        "falsePositiveRate",
    ]
    assert json.dumps(a.metadata) == json.dumps(k.metadata)  # same key order too


def test_log_roc_data_point_keyword_arguments_as_kfp():
    a, k = both(PAIRS[4])
    a.log_roc_data_point(fpr=0.2, tpr=0.7, threshold=0.4)
    k.log_roc_data_point(fpr=0.2, tpr=0.7, threshold=0.4)
    assert a.metadata == k.metadata


def test_log_roc_curve_matches_kfp():
    fpr, tpr, th = [0.0, 0.1, 0.4, 1.0], [0.0, 0.5, 0.9, 1.0], [1.0, 0.8, 0.3, 0.0]
    a, k = both(PAIRS[4])
    a.log_roc_curve(fpr, tpr, th)
    k.log_roc_curve(fpr, tpr, th)
    a.log_roc_curve(fpr[:1], tpr[:1], th[:1])
    k.log_roc_curve(fpr[:1], tpr[:1], th[:1])
    assert a.metadata == k.metadata


def test_log_roc_curve_from_sklearn_numpy_arrays():
    sk = pytest.importorskip("sklearn.metrics")
    y = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    fpr, tpr, th = sk.roc_curve(y, scores)
    th = np.clip(th, 0.0, 1.0)  # sklearn's first threshold is inf
    a, k = both(PAIRS[4])
    a.log_roc_curve(fpr, tpr, th)
    k.log_roc_curve(fpr.tolist(), tpr.tolist(), th.tolist())
    assert a.metadata == k.metadata
    json.dumps(a.metadata)


def test_log_roc_curve_with_precision_adds_vertex_key():
    m = la.ClassificationMetrics()
    m.log_roc_curve([0.0, 0.5], [0.5, 1.0], [0.9, 0.1], precision=[1.0, 0.66])
    assert m.metadata["confidenceMetrics"][1] == {
        "confidenceThreshold": 0.1,
        "recall": 1.0,
        "falsePositiveRate": 0.5,
        "precision": 0.66,
    }
    m.log_roc_data_point(1.0, 1.0, 0.0, precision=0.5)
    assert m.metadata["confidenceMetrics"][-1]["precision"] == 0.5


def test_log_roc_curve_length_mismatch_is_clear_and_writes_nothing():
    m = la.ClassificationMetrics()
    with pytest.raises(ValueError, match="same length, got lengths 2, 3 and 3"):
        m.log_roc_curve([0, 1], [0, 0.5, 1], [1, 0.5, 0])
    with pytest.raises(ValueError, match="and precision must have the same length"):
        m.log_roc_curve([0, 1], [0, 1], [1, 0], precision=[1.0])
    assert m.metadata == {}


def test_roc_values_are_validated_and_nothing_partial_is_written():
    m = la.ClassificationMetrics()
    m.log_roc_data_point(0.0, 0.0, 1.0)
    before = copy.deepcopy(m.metadata)
    with pytest.raises(ValueError, match=r"fpr\[1\] must be between 0 and 1, got 1.5"):
        m.log_roc_curve([0.1, 1.5], [0.2, 0.3], [0.5, 0.4])
    with pytest.raises(TypeError, match=r"tpr\[0\] must be a number"):
        m.log_roc_curve([0.1], ["high"], [0.5])
    with pytest.raises(ValueError, match="scikit-learn"):
        m.log_roc_curve([0.0], [0.0], [math.inf])
    with pytest.raises(TypeError, match="fpr must be a list"):
        m.log_roc_curve("0.1", [0.2], [0.3])  # type: ignore[arg-type]
    assert m.metadata == before


def test_confusion_matrix_categories_match_kfp():
    a, k = both(PAIRS[4])
    a.set_confusion_matrix_categories(["cat", "dog", "bird"])
    k.set_confusion_matrix_categories(["cat", "dog", "bird"])
    assert a.metadata == k.metadata
    assert a.metadata["confusionMatrix"] == {
        "annotationSpecs": [
            {"displayName": "cat"},
            {"displayName": "dog"},
            {"displayName": "bird"},
        ],
        "rows": [{"row": [0, 0, 0]}, {"row": [0, 0, 0]}, {"row": [0, 0, 0]}],
    }


def test_confusion_matrix_row_and_cell_match_kfp():
    a, k = both(PAIRS[4])
    for m in (a, k):
        m.set_confusion_matrix_categories(["cat", "dog", "bird"])
        m.log_confusion_matrix_row("dog", [1, 7, 2])
        m.log_confusion_matrix_cell("cat", "bird", 3)
        m.log_confusion_matrix_cell("bird", "bird", 9)
        m.log_confusion_matrix_row("dog", [0, 8, 2])
    assert a.metadata == k.metadata
    assert [r["row"] for r in a.metadata["confusionMatrix"]["rows"]] == [
        [0, 0, 3],
        [0, 8, 2],
        [0, 0, 9],
    ]


def test_log_confusion_matrix_matches_kfp():
    categories = ["neg", "pos"]
    matrix = [[50, 4], [6, 40]]
    a, k = both(PAIRS[4])
    a.log_confusion_matrix(categories, matrix)
    k.log_confusion_matrix(categories, matrix)
    assert a.metadata == k.metadata
    # and together with a ROC curve in one artifact
    a.log_roc_curve([0, 1], [0, 1], [1, 0])
    k.log_roc_curve([0, 1], [0, 1], [1, 0])
    assert a.metadata == k.metadata


def test_log_confusion_matrix_from_numpy():
    m = la.ClassificationMetrics()
    m.log_confusion_matrix(np.array(["a", "b"]), np.array([[1, 2], [3, 4]]))
    assert m.metadata["confusionMatrix"]["rows"] == [{"row": [1, 2]}, {"row": [3, 4]}]
    assert type(m.metadata["confusionMatrix"]["rows"][0]["row"][0]) is int


def test_logged_rows_do_not_alias_the_callers_lists():
    row = [1, 2]
    m = la.ClassificationMetrics()
    m.set_confusion_matrix_categories(["a", "b"])
    m.log_confusion_matrix_row("a", row)
    m.log_confusion_matrix_cell("a", "b", 9)
    assert row == [1, 2]
    row.append(3)
    assert m.metadata["confusionMatrix"]["rows"][0]["row"] == [1, 9]


def test_confusion_matrix_errors_are_clear():
    m = la.ClassificationMetrics()
    with pytest.raises(ValueError, match="call set_confusion_matrix_categories"):
        m.log_confusion_matrix_row("a", [1])
    with pytest.raises(ValueError, match="call set_confusion_matrix_categories"):
        m.log_confusion_matrix_cell("a", "a", 1)
    m.set_confusion_matrix_categories(["a", "b"])
    before = copy.deepcopy(m.metadata)
    with pytest.raises(ValueError, match=r"row 'a' must have 2 values \(one per category\), got 3"):
        m.log_confusion_matrix_row("a", [1, 2, 3])
    with pytest.raises(ValueError, match=r"unknown row category 'c': expected one of \['a', 'b'\]"):
        m.log_confusion_matrix_row("c", [1, 2])
    with pytest.raises(ValueError, match="unknown column category 'z'"):
        m.log_confusion_matrix_cell("a", "z", 1)
    with pytest.raises(ValueError, match="unknown row category 'z'"):
        m.log_confusion_matrix_cell("z", "a", 1)
    with pytest.raises(TypeError, match=r"row 'a'\[1\] must be a number"):
        m.log_confusion_matrix_row("a", [1, "two"])
    with pytest.raises(ValueError, match="must not be negative"):
        m.log_confusion_matrix_cell("a", "b", -1)
    with pytest.raises(TypeError, match="must be a number"):
        m.log_confusion_matrix_cell("a", "b", None)  # type: ignore[arg-type]
    assert m.metadata == before


def test_confusion_matrix_category_validation():
    m = la.ClassificationMetrics()
    with pytest.raises(ValueError, match=r"unique, got duplicates \['a'\]"):
        m.set_confusion_matrix_categories(["a", "b", "a"])
    with pytest.raises(TypeError, match="categories must be a list"):
        m.set_confusion_matrix_categories("ab")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="categories must not be empty"):
        m.set_confusion_matrix_categories([])
    with pytest.raises(TypeError, match="category must be a str"):
        m.set_confusion_matrix_categories([0, 1])  # type: ignore[list-item]
    assert m.metadata == {}


def test_log_confusion_matrix_shape_errors_write_nothing():
    m = la.ClassificationMetrics()
    with pytest.raises(ValueError, match=r"must have 2 rows \(one per category\), got 1"):
        m.log_confusion_matrix(["a", "b"], [[1, 2]])
    with pytest.raises(ValueError, match="row 'b' must have 2 values"):
        m.log_confusion_matrix(["a", "b"], [[1, 2], [3]])
    assert m.metadata == {}  # KFP leaves a zeroed matrix behind here


def test_logging_continues_on_metadata_kfp_wrote():
    k = dsl.ClassificationMetrics()
    k.log_confusion_matrix(["a", "b"], [[1, 2], [3, 4]])
    k.log_roc_data_point(0.0, 0.0, 1.0)
    stored = json.loads(json.dumps(k.metadata))  # what a later step receives
    a = la.ClassificationMetrics(metadata=stored)
    a.log_confusion_matrix_cell("b", "a", 30)
    a.log_roc_data_point(1.0, 1.0, 0.0)
    k.log_confusion_matrix_cell("b", "a", 30)
    k.log_roc_data_point(1.0, 1.0, 0.0)
    assert a.metadata == k.metadata


def test_malformed_stored_confusion_matrix_is_reported():
    m = la.ClassificationMetrics(metadata={"confusionMatrix": {"rows": []}})
    with pytest.raises(ValueError, match="malformed"):
        m.log_confusion_matrix_cell("a", "a", 1)
    m = la.ClassificationMetrics(metadata={"confidenceMetrics": {"list": []}})
    with pytest.raises(ValueError, match="must be a list"):
        m.log_roc_data_point(0, 0, 1)


# ------------------------------------------------------------------ SlicedClassificationMetrics


def kfp_sliced():
    """KFP's class with its missing ``_sliced_metrics`` initialisation patched in, so its
    confusion-matrix methods (the ones that call existing methods) can run."""
    k = dsl.SlicedClassificationMetrics()
    k._sliced_metrics = {}
    return k


def test_kfp_sliced_metrics_is_broken():
    """The reason our behaviour is defined by us: KFP's methods fail."""
    with pytest.raises(AttributeError):
        dsl.SlicedClassificationMetrics().set_confusion_matrix_categories("s", ["a"])
    with pytest.raises(AttributeError):  # ClassificationMetrics has no log_roc_reading
        kfp_sliced().log_roc_reading("s", 0.5, 0.5, 0.5)
    with pytest.raises(AttributeError):  # nor load_roc_readings
        kfp_sliced().load_roc_readings("s", [[0.5, 0.5, 0.5]])
    with pytest.raises(TypeError):  # calls log_confusion_matrix_cell with two arguments
        kfp_sliced().load_confusion_matrix("s", ["a"], [[1]])


def test_sliced_confusion_matrix_methods_match_patched_kfp():
    a, k = la.SlicedClassificationMetrics(), kfp_sliced()
    for m in (a, k):
        m.set_confusion_matrix_categories("US", ["neg", "pos"])
        m.set_confusion_matrix_categories("EU", ["neg", "pos"])
        m.log_confusion_matrix_row("US", "neg", [10, 2])
        m.log_confusion_matrix_cell("EU", "pos", "pos", 7)
        m.log_confusion_matrix_cell("US", "pos", "neg", 1)
    assert a.metadata == k.metadata
    assert a.slices == ["US", "EU"]


def test_sliced_roc_reading_uses_classification_metrics_layout_per_slice():
    s = la.SlicedClassificationMetrics()
    s.log_roc_reading("US", threshold=0.8, tpr=0.6, fpr=0.1)
    s.log_roc_reading("US", 0.2, 0.95, 0.5)
    s.load_roc_readings("EU", [[1.0, 0.0, 0.0], [0.5, 0.7, 0.2], [0.0, 1.0, 1.0]])
    us, eu = dsl.ClassificationMetrics(), dsl.ClassificationMetrics()
    us.log_roc_data_point(fpr=0.1, tpr=0.6, threshold=0.8)
    us.log_roc_data_point(fpr=0.5, tpr=0.95, threshold=0.2)
    eu.log_roc_curve(fpr=[0.0, 0.2, 1.0], tpr=[0.0, 0.7, 1.0], threshold=[1.0, 0.5, 0.0])
    assert s.metadata == {
        "evaluationSlices": [
            {"slice": "US", "sliceClassificationMetrics": us.metadata},
            {"slice": "EU", "sliceClassificationMetrics": eu.metadata},
        ]
    }


def test_sliced_load_confusion_matrix_and_classification_names():
    s = la.SlicedClassificationMetrics()
    s.load_confusion_matrix("all", ["a", "b"], [[5, 1], [2, 6]])
    s.log_confusion_matrix("young", ["a", "b"], [[1, 0], [0, 1]])
    s.log_roc_curve("all", [0.0, 1.0], [0.0, 1.0], [1.0, 0.0])
    s.log_roc_data_point("young", 0.0, 1.0, 0.5, precision=1.0)
    ref = dsl.ClassificationMetrics()
    ref.log_confusion_matrix(["a", "b"], [[5, 1], [2, 6]])
    ref.log_roc_curve([0.0, 1.0], [0.0, 1.0], [1.0, 0.0])
    assert s.slice_metrics("all").metadata == ref.metadata
    assert s.slice_metrics("young").metadata["confidenceMetrics"] == [
        {"confidenceThreshold": 0.5, "recall": 1.0, "falsePositiveRate": 0.0, "precision": 1.0}
    ]


def test_slice_metrics_view_writes_through():
    s = la.SlicedClassificationMetrics()
    s.set_confusion_matrix_categories("x", ["a", "b"])
    view = s.slice_metrics("x")
    assert isinstance(view, la.ClassificationMetrics)
    view.log_confusion_matrix_cell("a", "b", 4)
    assert s.metadata["evaluationSlices"][0]["sliceClassificationMetrics"]["confusionMatrix"][
        "rows"
    ][0]["row"] == [0, 4]
    with pytest.raises(KeyError, match="no slice 'y'"):
        s.slice_metrics("y")


def test_sliced_errors_leave_no_half_made_slice():
    s = la.SlicedClassificationMetrics(metadata={"note": "kept"})
    with pytest.raises(ValueError, match="call set_confusion_matrix_categories"):
        s.log_confusion_matrix_row("new", "a", [1])
    with pytest.raises(ValueError, match=r"reading 0 must be \[threshold, tpr, fpr\]"):
        s.load_roc_readings("new", [[0.5, 0.5]])
    assert s.slices == []
    s.load_confusion_matrix("new", ["a"], [[1]])
    with pytest.raises(ValueError, match="unknown row category"):
        s.log_confusion_matrix_row("new", "zz", [1])
    assert s.slices == ["new"]
    with pytest.raises(ValueError, match="slice must not be empty"):
        s.set_confusion_matrix_categories("", ["a"])
    with pytest.raises(TypeError, match="slice must be a str"):
        s.set_confusion_matrix_categories(3, ["a"])  # type: ignore[arg-type]
    assert s.metadata["note"] == "kept"  # KFP would drop other keys


def test_sliced_metrics_continue_on_stored_metadata():
    s = la.SlicedClassificationMetrics()
    s.load_confusion_matrix("x", ["a", "b"], [[1, 2], [3, 4]])
    again = la.SlicedClassificationMetrics(metadata=json.loads(json.dumps(s.metadata)))
    again.log_confusion_matrix_cell("x", "b", "b", 40)
    again.log_roc_reading("y", 0.5, 0.5, 0.5)
    assert again.slices == ["x", "y"]
    assert again.slice_metrics("x").metadata["confusionMatrix"]["rows"][1]["row"] == [3, 40]


def test_malformed_evaluation_slices_are_reported():
    s = la.SlicedClassificationMetrics(metadata={"evaluationSlices": [{"slice": 1}]})
    with pytest.raises(ValueError, match="evaluationSlices'] is malformed"):
        s.log_roc_reading("a", 0.5, 0.5, 0.5)


# ------------------------------------------------------------------ runtime artifacts


def test_from_runtime_artifact_matches_kfps_executor():
    runtime = {
        "name": "projects/p/artifacts/1",
        "type": {"schemaTitle": "system.ClassificationMetrics", "schemaVersion": "0.0.1"},
        "uri": "minio://mlpipeline/v2/artifacts/x/metrics",
        "metadata": {"confusionMatrix": {"annotationSpecs": [], "rows": []}},
    }
    ours = la.from_runtime_artifact(runtime)
    theirs = kfp_executor.create_artifact_instance(runtime)
    assert type(ours).__name__ == type(theirs).__name__ == "ClassificationMetrics"
    assert (ours.name, ours.uri, ours.path, ours.metadata) == (
        theirs.name,
        theirs.uri,
        theirs.path,
        theirs.metadata,
    )
    unknown = la.from_runtime_artifact({"type": {"schemaTitle": "google.VertexModel"}})
    assert type(unknown) is la.Artifact


def test_to_runtime_artifact_round_trips():
    m = la.Metrics(name="m", uri="gs://b/m")
    m.log_metric("auc", 0.8)
    runtime = m.to_runtime_artifact()
    assert runtime["type"] == {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"}
    back = la.from_runtime_artifact(json.loads(json.dumps(runtime)))
    assert isinstance(back, la.Metrics)
    assert (back.name, back.uri, back.metadata) == ("m", "gs://b/m", {"auc": 0.8})
    assert type(kfp_executor.create_artifact_instance(runtime)) is dsl.Metrics


# ------------------------------------------------------------------ MLMD custom properties


def full_classification_metrics(cls):
    m = cls()
    m.log_confusion_matrix(["a", "b"], [[3, 1], [0, 4]])
    m.log_roc_curve([0.0, 0.25, 1.0], [0.0, 0.75, 1.0], [1.0, 0.5, 0.0])
    return m


def test_custom_properties_follow_kfps_backend_encoding():
    metadata = dict(full_classification_metrics(dsl.ClassificationMetrics).metadata)
    metadata.update({"accuracy": 1, "flag": True, "note": "x", "_kfp_workspace": True})
    props = la.metadata_to_custom_properties(metadata, display_name="metrics")
    # What KFP's Go launcher sees: the executor output parsed into a protobuf Struct.
    struct = json_format.MessageToDict(json_format.ParseDict(metadata, struct_pb2.Struct()))
    assert props["confusionMatrix"] == {"struct": struct["confusionMatrix"]}
    assert props["confidenceMetrics"] == {"list": struct["confidenceMetrics"]}
    assert props["confusionMatrix"]["struct"]["rows"][0]["row"] == [3.0, 1.0]
    assert type(props["confusionMatrix"]["struct"]["rows"][0]["row"][0]) is float
    assert props["accuracy"] == 1.0 and type(props["accuracy"]) is float
    assert props["flag"] == 1 and type(props["flag"]) is int
    assert props["note"] == "x"
    assert props["display_name"] == "metrics"
    assert "_kfp_workspace" not in props


def test_display_name_in_metadata_wins():
    props = la.metadata_to_custom_properties({"display_name": "mine"}, display_name="out")
    assert props == {"display_name": "mine"}


def test_custom_properties_round_trip_to_metadata():
    ours = full_classification_metrics(la.ClassificationMetrics)
    theirs = full_classification_metrics(dsl.ClassificationMetrics)
    props = la.metadata_to_custom_properties(ours.metadata)
    assert props == la.metadata_to_custom_properties(theirs.metadata)
    assert la.custom_properties_to_metadata(props) == ours.metadata  # 3 == 3.0
    wrapped = {k: Value.of(v) for k, v in props.items()}  # as the store returns them
    assert la.custom_properties_to_metadata(wrapped) == ours.metadata


def test_custom_properties_refuse_what_mlmd_cannot_hold():
    with pytest.raises(ValueError, match="None"):
        la.metadata_to_custom_properties({"x": None})
    with pytest.raises(ValueError, match="must be finite"):
        la.metadata_to_custom_properties({"x": {"y": [1.0, math.nan]}})
    with pytest.raises(TypeError, match="cannot store a set"):
        la.metadata_to_custom_properties({"x": {1, 2}})
    with pytest.raises(TypeError, match="keys must be str"):
        la.metadata_to_custom_properties({"x": {1: 2}})


def test_sliced_metrics_store_as_a_list_property():
    s = la.SlicedClassificationMetrics()
    s.load_confusion_matrix("x", ["a"], [[2]])
    props = la.metadata_to_custom_properties(s.metadata)
    assert list(props) == ["evaluationSlices"]
    assert props["evaluationSlices"]["list"][0]["slice"] == "x"
    assert la.custom_properties_to_metadata(props) == s.metadata
