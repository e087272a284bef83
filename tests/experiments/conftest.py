import sys
from pathlib import Path

# the synthetic-study helper lives beside the predictor tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "predictor"))
