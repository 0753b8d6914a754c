from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("people/<int:user_id>/", views.person_detail, name="person"),
]
