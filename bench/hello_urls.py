"""The project's URLs plus a Django hello-world view, for bench/catalogue.py only.

The hello view goes through the same middleware as every project page, so comparing its
requests per second with the catalogue's isolates what the catalogue view itself costs.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


urlpatterns = [path("hello/", hello, name="bench-hello"), *project_urlpatterns]
