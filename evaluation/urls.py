from django.urls import path

from evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("survey/<str:token>/", views.survey, name="survey"),
    path("survey/<str:token>/thanks/", views.survey_thanks, name="survey_thanks"),
    path("survey/<str:token>/opt-out/", views.opt_out, name="opt_out"),
    path("calls/", views.call_list, name="call_list"),
    path("calls/<int:pk>/", views.call_detail, name="call"),
    path("calls/<int:pk>/script/", views.call_script, name="call_script"),
]
