"""`python -m churn_assets.champion`: kept for `make train`; same as
`python -m churn_assets champion`."""

import sys

from churn_assets.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["champion"]))
