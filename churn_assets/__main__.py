"""`python -m churn_assets --help`: the command line (see churn_assets/cli/)."""

import sys

from churn_assets.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
