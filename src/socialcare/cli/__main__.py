"""`python -m socialcare.cli` runs the `socialcare` command."""

from socialcare.cli.main import app

app(prog_name="socialcare")
