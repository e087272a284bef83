"""The latency matrix and the design built from it, on synthetic frames and on the real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.design import DesignError, make_design, source_columns, target_vector
from predictor.matrix import MatrixError, build_matrix, config_id, matrix_from_store
from tests.helpers.synthetic import low_rank_matrix


def _rows(**over):
    base = dict(model="a", device="Phone X", device_tier="edge", runtime="tflite", precision="float",
                layout=None, batch_size=1, input_size=224, family="cnn", latency_ms=2.0,
                ms_per_sample=2.0, peak_memory_mb=10.0, source="aihub",
                measured_at=pd.Timestamp("2025-01-01"), imported_at=pd.Timestamp("2025-01-02"),
                record_id="r")
    base.update(over)
    return base


def test_config_id_is_readable_and_skips_empty_parts():
    row = pd.Series(dict(device="Samsung Galaxy S23", runtime="tflite", precision="float", layout=None,
                         batch_size=1))
    assert config_id(row) == "Samsung Galaxy S23|tflite|float"
    row["batch_size"], row["layout"] = 256, "nhwc"
    assert config_id(row) == "Samsung Galaxy S23|tflite|float|nhwc|bs256"


def test_build_matrix_uses_latest_view_and_drops_thin_configs():
    rows = [_rows(model=f"m{i}", ms_per_sample=float(i + 1), record_id=f"a{i}") for i in range(6)]
    # an older re-profile of m0 must lose to the newer one
    rows.append(_rows(model="m0", ms_per_sample=99.0, measured_at=pd.Timestamp("2024-01-01"), record_id="old"))
    # a configuration with only 2 models is dropped at min_models=5
    rows += [_rows(model=f"m{i}", runtime="qnn", record_id=f"q{i}") for i in range(2)]
    m = build_matrix(pd.DataFrame(rows), min_models=5)
    assert list(m.values.columns) == ["Phone X|tflite|float"]
    assert m.values.loc["m0", "Phone X|tflite|float"] == 1.0
    assert m.configs.loc["Phone X|tflite|float", "n_models"] == 6
    assert m.configs.loc["Phone X|tflite|float", "first_seen"] == pd.Timestamp("2025-01-01")
    assert "6 models × 1 configs" in m.summary()


def test_memory_metric_and_bad_metric():
    rows = [_rows(model=f"m{i}", peak_memory_mb=float(10 + i), record_id=f"a{i}") for i in range(5)]
    m = build_matrix(pd.DataFrame(rows), metric="memory")
    assert m.metric == "memory" and m.values.iloc[:, 0].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
    with pytest.raises(MatrixError, match="metric must be one of"):
        build_matrix(pd.DataFrame(rows), metric="energy")
    with pytest.raises(MatrixError, match="no configuration has >= 50"):
        build_matrix(pd.DataFrame(rows), min_models=50)


def test_design_excludes_target_and_held_out_device():
    m = low_rank_matrix(n_models=12, n_devices=4)
    target = m.configs_of("dev1")[0]
    X = make_design(m, target, exclude_devices=["dev1"])
    cols = source_columns(X)
    assert f"src:{target}" not in cols
    assert not any(c.startswith("src:dev1|") for c in cols)
    assert len(cols) == 9 and "family" in X and "flops" in X
    assert target_vector(m, target).name == target
    with pytest.raises(DesignError, match="not in the matrix"):
        make_design(m, "nope|x|y")
    with pytest.raises(DesignError, match="unknown device"):
        make_design(m, target, exclude_devices=["dev99"])


def test_subset_and_log():
    m = low_rank_matrix(n_models=10, n_devices=3)
    s = m.subset(models=m.values.index[:4], configs=m.values.columns[:2])
    assert s.values.shape == (4, 2) and len(s.models) == 4 and len(s.configs) == 2
    assert np.allclose(np.exp(s.log().to_numpy()), s.values.to_numpy())


def test_real_store_matrix_has_expected_devices(real_store):
    m = matrix_from_store(real_store, sources=["aihub"])
    assert len(m.devices) >= 15
    for device in ("Samsung Galaxy S23", "Samsung Galaxy S24", "Snapdragon 8 Elite QRD"):
        assert device in m.devices
    assert "Samsung Galaxy S23|tflite|float" in m.values.columns
    assert (m.configs["n_models"] >= 5).all()
    assert m.values.shape[0] >= 30
    assert m.models["flops"].notna().mean() > 0.8
    timm = matrix_from_store(real_store, sources=["timm"])
    assert timm.values.shape[0] > 500 and (timm.configs["device_tier"].isin(["gpu", "cpu"])).all()
    mem = matrix_from_store(real_store, metric="memory", sources=["aihub"])
    assert mem.metric == "memory" and mem.values.shape[1] > 10


def test_since_drops_old_measurements():
    rows = [_rows(model=f"m{i}", ms_per_sample=1.0 + i, record_id=f"n{i}") for i in range(5)]
    rows += [_rows(model=f"m{i}", ms_per_sample=50.0, runtime="qnn", record_id=f"o{i}",
                   measured_at=pd.Timestamp("2024-01-01")) for i in range(5)]
    assert len(build_matrix(pd.DataFrame(rows)).values.columns) == 2
    m = build_matrix(pd.DataFrame(rows), since="2024-06-01")
    assert list(m.values.columns) == ["Phone X|tflite|float"]


# ----------------------------------------------------------------------- as-of alignment

def _reprofiled_rows():
    """Target 'T' measured once in 2024; source 'S' re-profiled in 2025 at half the latency
    (a new toolchain)."""
    rows = []
    for i, model in enumerate("abcdef"):
        base = 1.0 + i
        rows.append(_rows(model=model, device="T", ms_per_sample=2 * base, latency_ms=2 * base,
                          measured_at=pd.Timestamp("2024-03-01"), record_id=f"t{i}"))
        rows.append(_rows(model=model, device="S", ms_per_sample=base, latency_ms=base,
                          measured_at=pd.Timestamp("2024-02-01"), record_id=f"s{i}"))
        rows.append(_rows(model=model, device="S", ms_per_sample=base / 2, latency_ms=base / 2,
                          measured_at=pd.Timestamp("2025-06-01"), record_id=f"s2{i}"))
    return pd.DataFrame(rows)


def test_aligned_to_reads_sources_as_of_the_target_dates():
    m = build_matrix(_reprofiled_rows())
    target, source = "T|tflite|float", "S|tflite|float"
    assert np.allclose(m.values[target] / m.values[source], 4.0)  # latest view mixes toolchains
    aligned = m.aligned_to(target)
    assert np.allclose(aligned.values[target] / aligned.values[source], 2.0)
    assert aligned.values[target].equals(m.values[target])  # the target itself is untouched
    # a source first measured after the target falls back to its earliest value
    later = _reprofiled_rows()
    later = later[~((later.device == "S") & (later.measured_at < "2025-01-01"))]
    m2 = build_matrix(later)
    assert m2.aligned_to(target).values.equals(m2.values)


def test_aligned_to_on_real_aihub_reads_an_old_devices_sources_from_its_time(real_store):
    m = matrix_from_store(real_store, sources=["aihub"])
    old = [c for c in m.configs_of("Samsung Galaxy S23 Ultra") if m.values[c].notna().sum() >= 5][0]
    aligned = m.aligned_to(old)
    changed = (aligned.values != m.values) & m.values.notna()
    assert changed.to_numpy().sum() > 0  # re-profiled sources are read as of early 2024
    h = m.history
    when = h[h["config"] == old].groupby("model")["measured_at"].max()
    assert when.max() <= pd.Timestamp("2024-04-01")  # S23 Ultra was profiled only until March 2024
    cell = changed.stack()
    for model, config in list(cell[cell].index)[:20]:
        runs = h[(h["model"] == model) & (h["config"] == config)].sort_values("measured_at")
        before = runs[runs["measured_at"] <= when[model]]
        expected = before["value"].iloc[-1] if len(before) else runs["value"].iloc[0]
        assert aligned.values.at[model, config] == pytest.approx(expected)
