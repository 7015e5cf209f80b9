"""The project's tests.

Set here, before any test module imports XGBoost, scikit-learn or Dask (each reads them once,
on load), and inherited by every process the tests start; a caller's own values are kept.
`make test` runs 4 workers on 2 cores beside the servers the tests start, so work that only
waits or watches costs the suite CPU the tests need (test_suite_environment.py checks both
change how things wait or are watched, never what is computed):

- OpenMP threads that wait sleep instead of spinning (a spinning thread waits for one that is
  not running): the production-shape test's ``xgboost.dask`` final fit (85 rounds, 2 local
  workers, ``n_jobs`` 2) took 42 CPU s spinning against 2.8 passive; in-process tuning used
  about a fifth less CPU.
- Dask's diagnostics look less often: the workers' statistical profiler (every 10 ms) is off,
  the event-loop health tick runs every 500 ms (not 20 ms), the system monitor's samples for
  the dashboard every 2 s (not 500 ms). An idle 2-worker LocalCluster used 5.8 CPU s a minute
  (workers and this process) against 0.8 with these and a slower memory monitor; the memory
  monitor (spill, pause, terminate) keeps its 100 ms here, as the data-path tests rely on it.
"""

import os

QUIET_WAITS = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "500ms",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
}
for _name, _value in QUIET_WAITS.items():
    os.environ.setdefault(_name, _value)
