"""The "bookings" namespace: places (catalogue, booking, changes, managing) and money."""

from __future__ import annotations

from bookings.money import urls as money_urls
from bookings.places import urls as places_urls

app_name = "bookings"

urlpatterns = [*money_urls.urlpatterns, *places_urls.urlpatterns]
