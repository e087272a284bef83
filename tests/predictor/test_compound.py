import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from predictor.compound import CompoundError, edp, frm, netscore, weighted_geomean


def three_models() -> pd.DataFrame:
    return pd.DataFrame({"flops": [1.0, 2.0, 4.0], "latency": [2.0, 2.0, 8.0],
                         "memory": [1.0, 4.0, 2.0]}, index=["a", "b", "c"])


def test_frm_three_models_by_hand():
    # b: ratios (2, 1, 4) -> 8^(1/3) = 2; c: (4, 4, 2) -> 32^(1/3)
    r = frm(three_models(), reference="a")
    assert r.values.to_dict() == pytest.approx({"a": 1.0, "b": 2.0, "c": 32 ** (1 / 3)})
    assert r.terms_used == ("flops", "latency", "memory") and r.reference == "a"


def test_frm_median_reference_and_missing_term():
    df = three_models().drop(columns="memory")
    r = frm(df, reference="median")       # medians: flops 2, latency 2
    assert r.terms_used == ("flops", "latency")
    assert r.values["c"] == pytest.approx(np.sqrt(2 * 4))
    with pytest.raises(CompoundError, match="reference model 'zz'"):
        frm(df, reference="zz")


def test_frm_ranking_does_not_depend_on_reference():
    df = three_models()
    assert list(frm(df, "a").values.rank()) == list(frm(df, "median").values.rank())


def test_netscore_by_hand():
    assert netscore(100, 1, 1) == pytest.approx(80.0)        # 20·log10(100²)
    assert netscore(10, 100, 1) == pytest.approx(20.0)       # 20·(2 − 1)
    assert netscore(76.0, 25.6, 4.1) == pytest.approx(55.022, abs=1e-3)
    assert np.isnan(netscore(0, 1, 1))


def test_edp_unavailable_without_energy_and_computed_with_it():
    df = pd.DataFrame({"latency_ms": [2.0, 3.0], "energy_mj": [None, None]})
    assert not edp(df).available and "no measurement" in edp(df).reason
    df["energy_mj"] = [5.0, 1.0]
    assert list(edp(df).values) == [10.0, 3.0]


def test_weighted_geomean_by_hand_and_errors():
    df = pd.DataFrame({"x": [4.0], "y": [1.0]})
    assert weighted_geomean(df, {"x": 1, "y": 1})[0] == pytest.approx(2.0)
    assert weighted_geomean(df, {"x": 3, "y": 1})[0] == pytest.approx(4 ** 0.75)
    with pytest.raises(CompoundError, match="not in the table"):
        weighted_geomean(df, {"z": 1})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1e4), min_size=3, max_size=10))
def test_frm_is_scale_free(values):
    df = pd.DataFrame({"flops": values, "latency": values[::-1]})
    a = frm(df).values
    b = frm(df * 7.0).values          # same units change on every model: same FRM
    assert np.allclose(a, b)
