"""Wijkwerf: collective renovation in a neighbourhood."""

# The top-level package is called `app`, a name another distribution could also install into
# the same site-packages. `wijkwerf` (app/cli.py) checks this marker and refuses to run on
# someone else's `app`.
__wijkwerf__ = True
