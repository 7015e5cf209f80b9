"""The project's tests.

Set here, before any test module imports XGBoost or scikit-learn (both load OpenMP's libgomp,
which reads it once) and inherited by every process the tests start: OpenMP threads that wait
sleep instead of spinning. `make test` runs 4 workers on 2 cores beside the servers the tests
start, so a thread that spins waits for one that is not running: the production-shape test's
``xgboost.dask`` final fit (85 rounds, 2 local workers, ``n_jobs`` 2) took 42 CPU s spinning
against 2.8 passive, and in-process tuning used about a fifth less CPU. The models are the
same bit for bit (test_openmp_wait_policy.py); a caller's own setting is kept.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
