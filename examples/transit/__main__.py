"""`python -m examples.transit import FEED.zip` / `python -m examples.transit serve`."""

from .cli import main

raise SystemExit(main())
