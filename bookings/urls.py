from django.urls import path

from bookings import views, views_webhooks

app_name = "bookings"

urlpatterns = [
    path("payments/stripe/webhook/", views_webhooks.stripe_webhook, name="stripe_webhook"),
    path("payments/dev/<str:checkout_id>/", views.dev_checkout, name="dev_checkout"),
    path("orders/<str:reference>/", views.order_detail, name="order"),
    path("bookings/<int:pk>/", views.booking_detail, name="booking"),
    path("invoices/<str:number>.pdf", views.invoice_pdf, name="invoice_pdf"),
]
