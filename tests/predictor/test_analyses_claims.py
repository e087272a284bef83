"""The verdict logic: a band, not "the claimed value lies in the CI"; flips are inconclusive."""

import pytest

from predictor.analyses._base import Finding
from predictor.analyses.claims import Claim, ClaimSpecError, claim_table, judge
from predictor.metrics import Estimate

APPROX = Claim("ρ = 0.961", "transfer", "x", claimed=0.961, tolerance=0.02)   # band [0.941, 0.981]
BELOW = Claim("r² < 0.5", "predictability", "x", below=0.5)


def F(value, low, high, leave_out=None, **kw):
    return Finding(Estimate(value, low, high, 30), "models", leave_out, 2, **kw)


@pytest.mark.parametrize("finding,verdict", [
    (F(0.96, 0.95, 0.97), "supported"),                  # CI inside the band
    (F(0.90, 0.88, 0.92), "not supported"),              # CI wholly below it
    (F(0.99, 0.985, 0.995), "not supported"),            # … or wholly above it
    (F(0.935, 0.845, 0.963), "inconclusive"),            # contains 0.961 but meets the edge
    (F(0.96, 0.90, 1.0), "inconclusive"),                # wider than the band: decides nothing
    (F(0.96, float("nan"), float("nan")), "inconclusive"),   # no CI
])
def test_band_verdicts(finding, verdict):
    assert judge(APPROX, finding)[0] == verdict


def test_a_claimed_value_inside_a_wide_ci_is_not_support():
    """The old rule ("claimed value in the CI → supported") supported anything with a wide CI."""
    assert judge(APPROX, F(0.90, 0.80, 0.97))[0] == "inconclusive"


def test_a_verdict_that_leaving_out_a_few_models_flips_is_inconclusive():
    steady = F(0.90, 0.88, 0.92, leave_out=(0.89, 0.91))
    shaky = F(0.90, 0.88, 0.92, leave_out=(0.89, 0.945))   # one draw lands in the band
    assert judge(APPROX, steady)[0] == "not supported"
    verdict, why = judge(APPROX, shaky)
    assert verdict == "inconclusive" and "leaving out 2 models moves it to 0.945" in why
    inside = F(0.96, 0.95, 0.97, leave_out=(0.938, 0.965))
    assert judge(APPROX, inside)[0] == "inconclusive"


@pytest.mark.parametrize("finding,verdict", [
    (F(0.15, -0.10, 0.34), "supported"),
    (F(0.80, 0.60, 0.90), "not supported"),
    (F(0.45, 0.30, 0.55), "inconclusive"),
    (F(0.40, 0.30, 0.50), "inconclusive"),               # "< 0.5": 0.5 itself is not below
])
def test_threshold_verdicts(finding, verdict):
    assert judge(BELOW, finding)[0] == verdict


def test_bases_override_or_qualify_the_verdict():
    proxy = F(0.96, 0.95, 0.97, basis="proxy", basis_note="timm throughput, not latency")
    verdict, why = judge(APPROX, proxy)
    assert verdict == "proxy" and why.startswith("timm throughput") and "on the proxy: supported" in why
    built = F(0.0, 0.0, 0.0, basis="true by construction", basis_note="FRM without FLOPs is latency")
    assert judge(APPROX, built) == ("true by construction", "FRM without FLOPs is latency")
    count = F(10414, 10414, 10414, basis="not comparable", basis_note="a count; rate 0.88")
    assert judge(APPROX, count)[0] == "not comparable"
    assert judge(APPROX, None)[0] == "untestable"
    assert judge(APPROX, Finding(None, basis="untestable", basis_note="no local data")) == (
        "untestable", "no local data")


def test_claim_table_rows_name_failures_and_missing_findings():
    class R:
        def findings(self):
            return {"x": F(0.96, 0.95, 0.97), "y": F(0.5, 0.4, 0.6)}

    claims = [Claim("a", "transfer", "x", claimed=0.961, tolerance=0.02, beside=(("other", "y"),)),
              Claim("b", "transfer", "nope", claimed=1.0),
              Claim("c", "pareto", "x", claimed=1.0)]
    t = claim_table(claims, {"transfer": R()}, {"pareto": "analysis failed: ValueError: boom"})
    assert list(t["verdict"]) == ["supported", "untestable", "untestable"]
    assert t.loc[0, "effbench's method / variant"] == "other: 0.5 [0.4, 0.6]"
    assert "has no finding 'nope'" in t.loc[1, "why"] and "boom" in t.loc[2, "why"]


@pytest.mark.parametrize("raw,match", [
    ({"text": "t", "analysis": "a", "statistic": "s", "claimed": 1, "below": 2}, "exactly one"),
    ({"text": "", "analysis": "a", "statistic": "s", "claimed": 1}, "'text' must be"),
    ({"text": "t", "analysis": "a", "statistic": "s", "claimed": True}, "must be a number"),
    ({"text": "t", "analysis": "a", "statistic": "s", "claimed": 1, "beside": ["x"]}, "'beside'"),
    ("just text", "must be a mapping"),
])
def test_bad_claim_entries_are_one_clear_error(raw, match):
    with pytest.raises(ClaimSpecError, match=match):
        Claim.from_dict(raw, "claims.yaml: claims[0]")
