import sys
from pathlib import Path

# Test helpers (vectors, proxies, cloud builders) live beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
