"""The one exception a sub-command raises for a problem the user can fix."""


class CliError(Exception):
    """Printed as one line (`churn_assets <command>: error: <message>`), exit code 1."""
