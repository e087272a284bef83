"""Protocols that match use: ``forward`` (sources as of T, devices first seen from T on) and
chipset-grouped ``lodo``; ``LatencyMatrix.as_of``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from predictor.evaluation import evaluate, make_splits
from predictor.evaluation.protocols import ProtocolError, device_first_seen, forward_view
from tests.helpers.tiered import RatioStandIn, tiered_matrix

CUTOFF = pd.Timestamp("2024-10-01")


def _with_history(matrix, dates: dict[str, list[str]]):
    """``matrix`` with a history: every cell of config c measured on each of dates[c] (value
    × 1.5 on each later date, so which measurement was read is visible); latest view = newest."""
    rows = []
    for config in matrix.values.columns:
        for i, day in enumerate(dates[config]):
            for model, value in matrix.values[config].dropna().items():
                rows.append(dict(model=model, config=config, measured_at=pd.Timestamp(day),
                                 value=float(value) * 1.5 ** i))
    history = pd.DataFrame(rows)
    latest = history.sort_values("measured_at").drop_duplicates(["model", "config"], keep="last")
    values = latest.pivot(index="model", columns="config", values="value").reindex(
        index=matrix.values.index, columns=matrix.values.columns)
    return replace(matrix, values=values, history=history)


@pytest.fixture(scope="module")
def dated():
    m = tiered_matrix()
    dates = {}
    for config in m.values.columns:
        device = m.configs.at[config, "device"]
        # dev0-dev3 profiled before and after T; dev4, dev5 only after
        dates[config] = (["2024-06-01", "2024-12-01"] if device in ("dev0", "dev1", "dev2", "dev3")
                         else ["2025-01-15", "2025-03-01"])
    m = _with_history(m, dates)
    # the latest view's first_seen is misleading on purpose (the newest values' dates)
    m.configs["first_seen"] = pd.Timestamp("2024-12-01")
    return m


def test_as_of_reads_the_newest_measurement_on_or_before_the_date(dated):
    before = dated.as_of("2024-10-01")
    old = dated.configs_of("dev0")[0]
    new = dated.configs_of("dev4")[0]
    np.testing.assert_allclose(before.values[old], dated.values[old] / 1.5)  # the June value
    assert before.values[new].isna().all()  # dev4 did not exist yet
    assert list(before.values.columns) == list(dated.values.columns)
    assert (pd.to_datetime(before.history["measured_at"]) <= CUTOFF).all()
    # inclusive: a measurement on the date itself counts, unless asked otherwise
    on_day = dated.as_of("2024-12-01")
    np.testing.assert_allclose(on_day.values[old], dated.values[old])
    strictly = dated.as_of("2024-12-01", inclusive=False)
    np.testing.assert_allclose(strictly.values[old], dated.values[old] / 1.5)


def test_forward_targets_are_devices_first_seen_from_t_on_and_sources_as_of_t(dated):
    seen = device_first_seen(dated.configs, dated.history)
    assert seen[dated.configs_of("dev0")[0]] == pd.Timestamp("2024-06-01")  # not the latest view
    splits = make_splits(dated.configs, "forward", cutoff=CUTOFF, history=dated.history)
    targets = {dated.configs.at[s.target, "device"] for s in splits}
    assert targets == {"dev4", "dev5"}
    for split in splits:
        assert split.as_of == CUTOFF and split.label == "forward@2024-10-01"
        sources = {dated.configs.at[c, "device"] for c in split.sources}
        assert sources == {"dev0", "dev1", "dev2", "dev3"}
        view = forward_view(dated, split)
        for source in split.sources:  # the June values, never the December re-profile
            np.testing.assert_allclose(view.values[source], dated.values[source] / 1.5)
        first = dated.values[split.target] / 1.5  # scored on its first measurement from T on
        np.testing.assert_allclose(view.values[split.target], first)
    latest = make_splits(dated.configs, "forward", cutoff=CUTOFF, history=dated.history,
                         score_on="latest")
    view = forward_view(dated, latest[0])
    np.testing.assert_allclose(view.values[latest[0].target], dated.values[latest[0].target])


def test_forward_refuses_a_cutoff_that_leaves_nothing(dated):
    with pytest.raises(ProtocolError, match="no target device first seen"):
        make_splits(dated.configs, "forward", cutoff="2030-01-01", history=dated.history)
    with pytest.raises(ProtocolError, match="score_on"):
        make_splits(dated.configs, "forward", cutoff=CUTOFF, history=dated.history,
                    score_on="median")


def test_evaluate_forward_never_reads_a_source_past_t(dated):
    """A method that sees a December value would know it: the stand-in records its designs."""
    seen = []

    class Spy(RatioStandIn):
        def fit(self, X, y, target=None):
            seen.append(X[[c for c in X.columns if str(c).startswith("src:")]].copy())
            return super().fit(X, y, target)

    result = evaluate(dated, {"spy": Spy}, "forward", ks=(3,), n_draws=1, cutoff=CUTOFF)
    assert set(result.per_target["target_device"]) == {"dev4", "dev5"}
    assert result.protocol == "forward" and result.protocol_kw["align"] == "False"
    june = dated.as_of(CUTOFF)
    for X in seen:
        for column in X.columns:
            config = column.removeprefix("src:")
            np.testing.assert_allclose(X[column], june.values.loc[X.index, config])
    # the old name still works and means the same
    timed = evaluate(dated, {"spy": Spy}, "time", ks=(3,), n_draws=1, cutoff=CUTOFF)
    pd.testing.assert_frame_equal(timed.per_target, result.per_target)


@pytest.mark.slow
def test_forward_on_real_aihub_holds_out_the_six_new_devices(real_store):
    from predictor.matrix import matrix_from_store

    m = matrix_from_store(real_store, sources=["aihub"])
    splits = make_splits(m.configs, "forward", cutoff=CUTOFF, history=m.history)
    devices = {m.configs.at[s.target, "device"] for s in splits}
    assert devices == {"Snapdragon 8 Elite QRD", "SA8295P ADP", "SA7255P ADP", "SA8775P ADP",
                       "QCS9075 (Proxy)", "QCS8275 (Proxy)"}
    h = m.history
    for split in splits[:3]:
        assert not set(split.sources) & {s.target for s in splits}
        view = forward_view(m, split)
        for source in split.sources[:10]:
            dates = h[(h.config == source) & (pd.to_datetime(h.measured_at) < CUTOFF)]
            assert view.values[source].notna().sum() == dates["model"].nunique()


@pytest.mark.slow
def test_chipset_lodo_on_real_aihub_holds_out_every_twin(real_store):
    """The Galaxy S23 shares its silicon with the QCS8550 board and with AI Hub's SA8255/SA8650/
    SA8775 proxies (their latencies are the S23's within 1 %): none of them is a source."""
    from predictor.matrix import matrix_from_store

    m = matrix_from_store(real_store, sources=["aihub"])
    target = "Samsung Galaxy S23|tflite|float"
    split = make_splits(m.configs, "lodo", targets=[target], group="chipset")[0]
    sources = {m.configs.at[c, "device"] for c in split.sources}
    twins = {"Samsung Galaxy S23 Ultra", "QCS8550 (Proxy)", "SA8255 (Proxy)", "SA8650 (Proxy)",
             "SA8775 (Proxy)"}
    assert not sources & twins and "Samsung Galaxy S24" in sources
    by_device = make_splits(m.configs, "lodo", targets=[target], group="device")[0]
    assert twins & {m.configs.at[c, "device"] for c in by_device.sources}


def test_cli_cutoff_only_with_forward(real_store):
    from typer.testing import CliRunner

    from effbench.cli import app

    result = CliRunner().invoke(app, ["evaluate", "--store", str(real_store.root), "--protocol",
                                      "lodo", "--cutoff", "2024-10-01", "--no-log"])
    assert result.exit_code == 2
    assert "--cutoff is an option of --protocol forward" in result.output
