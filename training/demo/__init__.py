"""The demo programme: the 2016/17 year of the annual report and an upcoming programme."""

from training.demo.loading import (
    load_programme_example,
    load_reference_data,
    load_upcoming_programme,
    load_year_2016_17,
)
from training.demo.people import DEMO_PASSWORD, DEMO_USERS, load_demo_people
from training.demo.programme import AGENCIES

__all__ = [
    "AGENCIES",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "load_demo_people",
    "load_programme_example",
    "load_reference_data",
    "load_upcoming_programme",
    "load_year_2016_17",
]
