"""Settings for bench/catalogue.py: the project's settings with a URLconf that adds ``hello/``.

Only the benchmark's gunicorn uses this module; the project itself never imports it.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.hello_urls"
